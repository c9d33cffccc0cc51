"""Booking-events consumer: business counters and the notifications log, applied exactly once.

Messages are applied in small batches (one transaction per shard per batch, one ack for all).

Delivery is at least once (relay retries, redeliveries after a lost connection); the message id
goes into the shard's `inbox` table in the same transaction as its effects, so a duplicate
changes nothing. The message is acknowledged only after that transaction committed: a crash in
between means a redelivery, which the inbox absorbs.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pika
import psycopg
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import AMQPError
from pika.spec import Basic, BasicProperties
from psycopg.rows import dict_row

from app.common.db import primary_dsn
from app.common.metrics import EVENTS_CONSUMED
from app.common.rabbitmq import declare_topology, parameters
from app.common.settings import Settings

log = logging.getLogger(__name__)
PREFETCH = 500
# Deliveries are applied in batches: whatever arrived within this many seconds, one
# transaction (one synchronous commit) per shard instead of one per message.
BATCH_WAIT = 0.05


def counter_delta(payload: dict[str, Any]) -> tuple[int, Decimal]:
    """Tickets and revenue a booking event adds (a cancellation subtracts)."""
    sign = -1 if payload["type"] == "booking.cancelled" else 1
    return sign * int(payload["tickets"]), sign * Decimal(payload["amount"])


def notification(payload: dict[str, Any]) -> str:
    verb = "cancelled" if payload["type"] == "booking.cancelled" else "confirmed"
    who = payload.get("customer") or "customer"
    return f"{who}: booking {payload['booking_id']} {verb} ({payload['tickets']} tickets, {payload['amount']})"


class CountersConsumer:
    def __init__(self, settings: Settings, stop: threading.Event) -> None:
        self._settings = settings
        self._stop = stop
        self._dsns = {
            shard: primary_dsn(settings.postgres, s, f"consumer@{settings.node}")
            for shard, s in settings.shards.items()
        }
        self._db: dict[str, psycopg.Connection[dict[str, Any]]] = {}

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self._consume()
            except (psycopg.Error, AMQPError, OSError) as exc:
                log.warning("consumer interrupted (%s: %s); reconnecting", type(exc).__name__, exc)
                self._close_db()
                self._stop.wait(1.0)
            except Exception:
                log.exception("consumer failed; reconnecting")
                self._close_db()
                self._stop.wait(1.0)

    def _consume(self) -> None:
        connection = pika.BlockingConnection(parameters(self._settings.rabbitmq))
        try:
            channel = connection.channel()
            declare_topology(channel, self._settings.rabbitmq)
            channel.basic_qos(prefetch_count=PREFETCH)
            batch: list[Delivery] = []
            channel.basic_consume(
                self._settings.rabbitmq.counters_queue,
                lambda _ch, method, properties, body: batch.append(Delivery.of(method, properties, body)),
            )
            while not self._stop.is_set():
                connection.process_data_events(time_limit=BATCH_WAIT)
                if batch:
                    self._apply_and_ack(channel, batch)
                    batch.clear()
        finally:
            if connection.is_open:
                connection.close()

    def _apply_and_ack(self, channel: BlockingChannel, batch: list[Delivery]) -> None:
        """One transaction per shard for the whole batch, then one ack for all of it."""
        by_shard: dict[str, list[Delivery]] = {}
        for delivery in batch:
            if delivery.payload is None or delivery.payload.get("shard") not in self._dsns:
                # A message no consumer can ever apply: drop it loudly instead of redelivering forever.
                log.error("dropping malformed booking event %r", delivery.body[:200])
                continue
            by_shard.setdefault(delivery.payload["shard"], []).append(delivery)
        for shard, deliveries in by_shard.items():
            applied = self.apply(self._connection(shard), deliveries)
            EVENTS_CONSUMED.labels("applied").inc(applied)
            EVENTS_CONSUMED.labels("duplicate").inc(len(deliveries) - applied)
        channel.basic_ack(batch[-1].tag, multiple=True)

    def _connection(self, shard: str) -> psycopg.Connection[dict[str, Any]]:
        conn = self._db.get(shard)
        if conn is None or conn.closed:
            conn = psycopg.connect(self._dsns[shard], row_factory=dict_row)
            self._db[shard] = conn
        return conn

    def _close_db(self) -> None:
        for conn in self._db.values():
            conn.close()
        self._db.clear()

    @staticmethod
    def apply(db: psycopg.Connection[dict[str, Any]], deliveries: list[Delivery]) -> int:
        """Apply events of one shard in one transaction; returns how many were new (not duplicates)."""
        with db.transaction():
            fresh = {
                row["message_id"]
                for row in db.execute(
                    "INSERT INTO inbox (message_id) SELECT unnest(%s::text[]) ON CONFLICT DO NOTHING "
                    "RETURNING message_id",
                    ([d.message_id for d in deliveries],),
                ).fetchall()
            }
            events: dict[str, dict[str, Any]] = {}
            for d in deliveries:  # a message redelivered within the batch counts once
                if d.message_id in fresh and d.message_id not in events and d.payload is not None:
                    events[d.message_id] = d.payload
            totals: dict[int, tuple[int, Decimal]] = {}
            for payload in events.values():
                tickets, revenue = counter_delta(payload)
                before = totals.get(payload["event_id"], (0, Decimal(0)))
                totals[payload["event_id"]] = (before[0] + tickets, before[1] + revenue)
            if totals:
                db.execute(
                    "INSERT INTO event_counters (event_id, tickets_sold, revenue) "
                    "SELECT * FROM unnest(%s::bigint[], %s::int[], %s::numeric[]) "
                    "ON CONFLICT (event_id) DO UPDATE SET "
                    "tickets_sold = event_counters.tickets_sold + EXCLUDED.tickets_sold, "
                    "revenue = event_counters.revenue + EXCLUDED.revenue, updated_at = now()",
                    (list(totals), [t[0] for t in totals.values()], [t[1] for t in totals.values()]),
                )
                db.execute(
                    "INSERT INTO notifications (booking_id, kind, message) "
                    "SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[])",
                    (
                        [p["booking_id"] for p in events.values()],
                        [p["type"] for p in events.values()],
                        [notification(p) for p in events.values()],
                    ),
                )
        return len(events)


@dataclass(frozen=True)
class Delivery:
    tag: int
    message_id: str
    payload: dict[str, Any] | None  # None: not a booking event
    body: bytes

    @classmethod
    def of(cls, method: Basic.Deliver, properties: BasicProperties, body: bytes) -> Delivery:
        try:
            payload = json.loads(body)
            if not isinstance(payload, dict) or not properties.message_id:
                raise ValueError("not an event with a message id")
            counter_delta(payload)
            int(payload["event_id"]), int(payload["booking_id"])
        except (ValueError, KeyError, TypeError, ArithmeticError):
            payload = None
        return cls(method.delivery_tag, properties.message_id or "", payload, body)
