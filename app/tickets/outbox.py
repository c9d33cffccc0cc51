"""Outbox relay: publishes committed booking events to RabbitMQ, at least once.

Rows are taken with `FOR UPDATE SKIP LOCKED`, so the relays of all app nodes share the work
without publishing a row twice in the normal case; a row is marked published only after the
broker confirmed it (publisher confirms, mandatory routing to the durable quorum queue). If the
connection drops between the confirm and the commit, the row is published again later: the
consumer deduplicates by message id.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import pika
import psycopg
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import AMQPError
from psycopg.rows import dict_row

from app.common.db import primary_dsn
from app.common.metrics import OUTBOX_PUBLISHED
from app.common.rabbitmq import declare_topology, parameters
from app.common.settings import Settings

log = logging.getLogger(__name__)
BATCH = 200
# How long a relay that found fewer than BATCH rows waits before it looks again (adds at most
# this much to an event's delivery time; saves a transaction per booking under load).
BATCH_WAIT = 0.05
# Published outbox rows and consumed message ids are kept this long (redeliveries come within
# minutes; a day leaves room for an outage of the broker or the consumers), then deleted.
RETENTION = "1 day"
CLEANUP_INTERVAL = 60.0


def message_id(shard: str, outbox_id: int) -> str:
    return f"{shard}:{outbox_id}"


class OutboxRelay:
    def __init__(self, settings: Settings, shard: str, stop: threading.Event, idle_wait: float = 0.2) -> None:
        self._settings = settings
        self._shard = shard
        self._stop = stop
        self._idle_wait = idle_wait
        self._dsn = primary_dsn(settings.postgres, settings.shards[shard], f"outbox@{settings.node}")

    def run(self) -> None:
        """Relay until stopped; every failure (database or broker) is retried after a pause."""
        while not self._stop.is_set():
            try:
                self._relay()
            except (psycopg.Error, AMQPError, OSError) as exc:
                log.warning("outbox relay of %s interrupted (%s: %s); retrying", self._shard, type(exc).__name__, exc)
                self._stop.wait(1.0)
            except Exception:
                # A dead relay thread would be a silent outage of the events: log and go on.
                log.exception("outbox relay of %s failed; retrying", self._shard)
                self._stop.wait(1.0)

    def _relay(self) -> None:
        connection = pika.BlockingConnection(parameters(self._settings.rabbitmq))
        try:
            channel = connection.channel()
            channel.confirm_delivery()
            declare_topology(channel, self._settings.rabbitmq)
            with psycopg.connect(self._dsn, row_factory=dict_row) as db:
                next_cleanup = 0.0
                while not self._stop.is_set():
                    sent = self.publish_batch(db, channel)
                    if sent == 0:
                        # Idle: keep the AMQP heartbeat going while waiting for new rows.
                        connection.process_data_events(time_limit=self._idle_wait)
                    elif sent < BATCH:
                        # A partial batch: let rows accumulate briefly, so that under load the
                        # relay takes one database transaction per batch rather than per row.
                        connection.process_data_events(time_limit=BATCH_WAIT)
                    if time.monotonic() >= next_cleanup:
                        self.cleanup(db)
                        next_cleanup = time.monotonic() + CLEANUP_INTERVAL
        finally:
            if connection.is_open:
                connection.close()

    def cleanup(self, db: psycopg.Connection[dict[str, Any]]) -> None:
        with db.transaction():
            db.execute(f"DELETE FROM outbox WHERE published_at < now() - interval '{RETENTION}'")
            db.execute(f"DELETE FROM inbox WHERE processed_at < now() - interval '{RETENTION}'")

    def publish_batch(self, db: psycopg.Connection[dict[str, Any]], channel: BlockingChannel) -> int:
        with db.transaction():
            rows = db.execute(
                "SELECT id, routing_key, payload FROM outbox WHERE published_at IS NULL "
                "ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
                (BATCH,),
            ).fetchall()
            for row in rows:
                # Raises (and so rolls the batch back) if the broker nacks or cannot route it.
                channel.basic_publish(
                    exchange=self._settings.rabbitmq.exchange,
                    routing_key=row["routing_key"],
                    body=json.dumps(row["payload"]).encode(),
                    properties=pika.BasicProperties(
                        message_id=message_id(self._shard, row["id"]),
                        delivery_mode=pika.DeliveryMode.Persistent,
                        content_type="application/json",
                    ),
                    mandatory=True,
                )
            if rows:
                db.execute("UPDATE outbox SET published_at = now() WHERE id = ANY(%s)", ([r["id"] for r in rows],))
        if rows:
            OUTBOX_PUBLISHED.labels(self._shard).inc(len(rows))
        return len(rows)
