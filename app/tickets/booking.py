"""Holds, bookings and cancellations: strongly consistent, one PostgreSQL transaction each.

Every transaction takes its locks in one global order, so concurrent buyers queue instead of
deadlocking:
  1. the idempotency key (a transaction-scoped advisory lock on its hash): requests with the
     same key run one after the other, and the later ones find the booking the first made;
  2. the seats, `SELECT ... FOR UPDATE` in ascending ticket id;
  3. then rows this transaction alone creates or the hold it names.
The partial unique index on live booking items is the last line of defence: should a bug skip
the checks, the second sale of a seat still fails (and is answered 409).
After commit, the new seat states are written through to the cache.

A booking is re-run while the database has no writable primary (`app.common.retry`, up to
the configured deadline). That is safe even when the failed attempt may have committed (its
connection broke during COMMIT): the re-run takes the key's lock, finds the booking the first
attempt made (`_by_key`, the unique idempotency_key) and answers it as a replay. A re-run
never makes a second booking for one key.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from app.common.auth import require_owner
from app.common.db import Connection, ShardPools, Transient, transient_failure
from app.common.metrics import BOOKING_RERUNS, BOOKINGS, BOOKINGS_RETRIED, REVENUE, TICKETS_SOLD
from app.common.retry import RetryPolicy, retry_until_deadline
from app.tickets import errors
from app.tickets.cache import TicketCache
from app.tickets.models import Booking, BookingCreate, Hold, HoldCreate
from app.tickets.seatstate import SeatState
from app.tickets.shards import ShardMap, UnknownShard, encode_id

log = logging.getLogger(__name__)

IDEMPOTENCY_KEY_MAX = 200

# The writes of a sale, in one statement: booking, its items, the tickets, the hold, the outbox.
SELL = """
WITH booking AS (
    INSERT INTO bookings (id, event_id, hold_id, session_id, customer, status, amount, idempotency_key, request_hash)
    VALUES ((%(number)s::bigint << 48) | nextval('ids'), %(event_id)s, %(hold_id)s, %(session_id)s, %(customer)s,
            'confirmed', %(amount)s, %(key)s, %(hash)s)
    RETURNING id, created_at
), items AS (
    INSERT INTO booking_items (booking_id, ticket_id, price)
    SELECT booking.id, t.id, t.price FROM booking, tickets t WHERE t.id = ANY(%(seat_ids)s)
), sold AS (
    UPDATE tickets SET status = 'sold', booking_id = (SELECT id FROM booking), hold_id = NULL, held_until = NULL,
                       version = version + 1
    WHERE id = ANY(%(seat_ids)s)
), used AS (
    UPDATE holds SET status = 'booked' WHERE id = %(hold_id)s
), outbox AS (
    INSERT INTO outbox (routing_key, payload)
    SELECT 'booking.confirmed', jsonb_build_object(
        'type', 'booking.confirmed', 'shard', %(shard)s::text, 'booking_id', booking.id,
        'event_id', %(event_id)s::bigint, 'tickets', %(tickets)s::int, 'amount', %(amount)s::text,
        'customer', %(customer)s::text, 'at', extract(epoch FROM now()))
    FROM booking
)
SELECT id, created_at FROM booking
"""


def request_fingerprint(body: BookingCreate, session_id: str | None) -> str:
    """What a retried request must repeat exactly to be a retry (and not a new purchase)."""
    canonical = json.dumps({"body": body.model_dump(mode="json"), "session": session_id}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def validate_idempotency_key(key: str | None) -> str:
    if key is None or not key.strip():
        raise errors.MissingIdempotencyKey("the Idempotency-Key header is required to book (a UUID per purchase)")
    if len(key) > IDEMPOTENCY_KEY_MAX or not key.isprintable():
        raise errors.Invalid(f"Idempotency-Key must be printable and at most {IDEMPOTENCY_KEY_MAX} characters")
    return key


def _retried_result(exc: BaseException) -> str:
    """How a re-run booking ended when it did not succeed (a label of BOOKINGS_RETRIED)."""
    if isinstance(exc, errors.TicketError):
        return "refused"  # an answer: the seat was taken meanwhile, the hold expired, ...
    return "gave_up" if transient_failure(exc) is not None else "failed"


@dataclass(frozen=True)
class BookingResult:
    booking: Booking
    replayed: bool


class Bookings:
    def __init__(
        self, shards: ShardMap, pools: ShardPools, cache: TicketCache, hold_minutes: int, retry: RetryPolicy
    ) -> None:
        self._shards = shards
        self._pools = pools
        self._cache = cache
        self._hold_minutes = hold_minutes
        self._retry = retry

    def _shard(self, some_id: int, what: str) -> str:
        try:
            return self._shards.for_id(some_id)
        except UnknownShard:
            raise errors.NotFound(f"{what} {some_id} does not exist") from None

    async def _new_id(self, conn: Connection, shard: str) -> int:
        cur = await conn.execute("SELECT nextval('ids') AS local")
        return encode_id(self._shards.number(shard), (await cur.fetchone())["local"])

    async def _lock_seats(self, conn: Connection, event_id: int, seat_ids: list[int]) -> list[dict[str, Any]]:
        cur = await conn.execute(
            "SELECT id, status, hold_id, held_until, held_until > now() AS hold_live, price, version "
            "FROM tickets WHERE event_id = %s AND id = ANY(%s) ORDER BY id FOR UPDATE",
            (event_id, seat_ids),
        )
        seats = await cur.fetchall()
        missing = sorted(set(seat_ids) - {s["id"] for s in seats})
        if missing:
            cur = await conn.execute("SELECT 1 FROM events WHERE id = %s", (event_id,))
            if await cur.fetchone() is None:
                raise errors.NotFound(f"event {event_id} does not exist")
            raise errors.NotFound(f"seats {missing} are not seats of event {event_id}")
        return seats

    async def _write_through(self, event_id: int, rows: list[dict[str, Any]]) -> None:
        states = [
            (r["id"], SeatState(r["version"], r["status"], r["held_until"].timestamp() if r["held_until"] else None))
            for r in rows
        ]
        await self._cache.merge_seats(event_id, states, complete=False)

    async def hold(self, body: HoldCreate, session_id: str, customer: str) -> Hold:
        shard = self._shard(body.event_id, "event")
        if body.minutes is not None and body.seconds is not None:
            raise errors.Invalid("give minutes or seconds, not both")
        seconds = body.seconds or (body.minutes or self._hold_minutes) * 60
        async with self._pools.primary(shard) as conn, conn.transaction():
            seats = await self._lock_seats(conn, body.event_id, body.seat_ids)
            taken = [s["id"] for s in seats if s["status"] == "sold" or (s["status"] == "held" and s["hold_live"])]
            if taken:
                raise errors.SeatTaken(f"seats {taken} are already held or sold")
            hold_id = await self._new_id(conn, shard)
            cur = await conn.execute(
                "INSERT INTO holds (id, event_id, session_id, customer, expires_at) "
                "VALUES (%s, %s, %s, %s, now() + make_interval(secs => %s)) RETURNING expires_at",
                (hold_id, body.event_id, session_id, customer, seconds),
            )
            expires_at: datetime = (await cur.fetchone())["expires_at"]
            cur = await conn.execute(
                "UPDATE tickets SET status = 'held', hold_id = %s, held_until = %s, version = version + 1 "
                "WHERE id = ANY(%s) RETURNING id, status, held_until, version",
                (hold_id, expires_at, body.seat_ids),
            )
            changed = await cur.fetchall()
        await self._write_through(body.event_id, changed)
        return Hold(id=hold_id, event_id=body.event_id, seat_ids=body.seat_ids, expires_at=expires_at)

    async def book(self, body: BookingCreate, key: str, session_id: str, customer: str) -> BookingResult:
        if body.hold_id is None and (body.event_id is None or body.seat_ids is None):
            raise errors.Invalid("give either hold_id, or event_id and seat_ids (a direct purchase)")
        routing_id = body.hold_id if body.hold_id is not None else body.event_id
        assert routing_id is not None
        shard = self._shard(routing_id, "hold" if body.hold_id is not None else "event")
        fingerprint = request_fingerprint(body, session_id)
        try:
            result, changed, event_id = await self._book_retried(
                shard, body, key=key, fingerprint=fingerprint, session_id=session_id, customer=customer
            )
        except psycopg.errors.UniqueViolation as exc:
            # Only reachable if the lock protocol above had a hole: the index refused a double sale.
            BOOKINGS.labels("conflicted").inc()
            raise errors.SeatTaken("a seat of this order was sold concurrently") from exc
        except (errors.SeatTaken, errors.HoldExpired, errors.HoldUsed):
            BOOKINGS.labels("conflicted").inc()
            raise
        except errors.TicketError:
            BOOKINGS.labels("rejected").inc()
            raise
        if result.replayed:
            BOOKINGS.labels("replayed").inc()
        else:
            BOOKINGS.labels("succeeded").inc()
            TICKETS_SOLD.labels(shard).inc(len(result.booking.seat_ids))
            REVENUE.labels(shard).inc(float(result.booking.amount))
            await self._write_through(event_id, changed)
        return result

    async def _book_retried(
        self,
        shard: str,
        body: BookingCreate,
        *,
        key: str,
        fingerprint: str,
        session_id: str,
        customer: str,
    ) -> tuple[BookingResult, list[dict[str, Any]], int]:
        """`_book_once`, re-run on transient database failures until the retry deadline.
        Every failure counts, the ambiguous ones too: the key makes their re-run safe."""
        reruns = 0

        def rerun(failure: Transient) -> None:
            nonlocal reruns
            reruns += 1
            BOOKING_RERUNS.labels(failure.reason).inc()

        async def attempt(wait: float) -> tuple[BookingResult, list[dict[str, Any]], int]:
            return await self._book_once(
                shard, body, key=key, fingerprint=fingerprint, session_id=session_id, customer=customer, wait=wait
            )

        try:
            booked = await retry_until_deadline(attempt, self._retry, transient_failure, rerun)
        except Exception as exc:
            if reruns:
                BOOKINGS_RETRIED.labels(_retried_result(exc)).inc()
            raise
        if reruns:
            BOOKINGS_RETRIED.labels("succeeded").inc()
            log.info("booking %s succeeded after %d re-runs", key, reruns)
        return booked

    async def _book_once(
        self,
        shard: str,
        body: BookingCreate,
        *,
        key: str,
        fingerprint: str,
        session_id: str,
        customer: str,
        wait: float,
    ) -> tuple[BookingResult, list[dict[str, Any]], int]:
        """One attempt, in one transaction; `wait`: the longest wait for a connection."""
        async with self._pools.primary(shard, wait) as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (key,))
            existing = await self._by_key(conn, key)
            if existing is not None:
                if existing[1] != fingerprint:
                    raise errors.IdempotencyMismatch(
                        "this Idempotency-Key was used for a different request; use a new key per purchase"
                    )
                return BookingResult(existing[0], replayed=True), [], existing[0].event_id
            event_id, seat_ids, hold = await self._resolve(conn, body, customer)
            seats = await self._lock_seats(conn, event_id, seat_ids)
            for s in seats:
                mine = hold is not None and s["hold_id"] == hold["id"]
                if s["status"] == "sold" or (s["status"] == "held" and s["hold_live"] and not mine):
                    raise errors.SeatTaken(f"seat {s['id']} is already held or sold")
                if hold is not None and not (mine and s["hold_live"]):
                    raise errors.HoldExpired(f"hold {hold['id']} expired; hold the seats again")
            amount = sum((Decimal(s["price"]) for s in seats), Decimal(0))
            hold_id = hold["id"] if hold else None
            # One round trip for every write of the sale (the seats are locked already).
            cur = await conn.execute(
                SELL,
                {
                    "number": self._shards.number(shard),
                    "shard": shard,
                    "event_id": event_id,
                    "hold_id": hold_id,
                    "session_id": session_id,
                    "customer": customer,
                    "amount": amount,
                    "key": key,
                    "hash": fingerprint,
                    "seat_ids": seat_ids,
                    "tickets": len(seat_ids),
                },
            )
            row = await cur.fetchone()
            booking = Booking(
                id=row["id"],
                event_id=event_id,
                status="confirmed",
                seat_ids=seat_ids,
                amount=amount,
                hold_id=hold_id,
                customer=customer,
                created_at=row["created_at"],
            )
        # The seats were locked at `version`: the sale made them exactly version + 1.
        changed = [{"id": s["id"], "status": "sold", "held_until": None, "version": s["version"] + 1} for s in seats]
        return BookingResult(booking, replayed=False), changed, event_id

    async def _resolve(
        self, conn: Connection, body: BookingCreate, customer: str
    ) -> tuple[int, list[int], dict[str, Any] | None]:
        """The event and seats of the order, and the hold it confirms (not locked: seats first)."""
        if body.hold_id is None:
            assert body.event_id is not None and body.seat_ids is not None
            return body.event_id, body.seat_ids, None
        cur = await conn.execute(
            "SELECT h.id, h.event_id, h.customer, h.status, array_agg(t.id ORDER BY t.id) "
            "FILTER (WHERE t.id IS NOT NULL) AS seat_ids FROM holds h LEFT JOIN tickets t ON t.hold_id = h.id "
            "WHERE h.id = %s GROUP BY h.id",
            (body.hold_id,),
        )
        hold = await cur.fetchone()
        if hold is None:
            raise errors.NotFound(f"hold {body.hold_id} does not exist")
        require_owner(hold["customer"], customer, f"hold {body.hold_id}")
        if hold["status"] == "booked":
            raise errors.HoldUsed(f"hold {body.hold_id} was already booked (with another Idempotency-Key)")
        if body.event_id is not None and body.event_id != hold["event_id"]:
            raise errors.Invalid(f"hold {body.hold_id} is for event {hold['event_id']}, not {body.event_id}")
        if not hold["seat_ids"]:
            raise errors.HoldExpired(f"hold {body.hold_id} expired and its seats were taken; hold seats again")
        if body.seat_ids is not None and body.seat_ids != hold["seat_ids"]:
            raise errors.Invalid(f"seat_ids differ from the seats of hold {body.hold_id}")
        return hold["event_id"], hold["seat_ids"], hold

    async def _by_key(self, conn: Connection, key: str) -> tuple[Booking, str] | None:
        cur = await conn.execute("SELECT id, request_hash FROM bookings WHERE idempotency_key = %s", (key,))
        row = await cur.fetchone()
        if row is None:
            return None
        return await self._load(conn, row["id"]), row["request_hash"]

    async def _load(self, conn: Connection, booking_id: int) -> Booking:
        cur = await conn.execute(
            "SELECT b.id, b.event_id, b.status, b.amount, b.hold_id, b.customer, b.created_at, b.cancelled_at, "
            "array_agg(i.ticket_id ORDER BY i.ticket_id) AS seat_ids "
            "FROM bookings b JOIN booking_items i ON i.booking_id = b.id WHERE b.id = %s GROUP BY b.id",
            (booking_id,),
        )
        row = await cur.fetchone()
        if row is None:
            raise errors.NotFound(f"booking {booking_id} does not exist")
        return Booking.model_validate(row)

    async def _outbox(self, conn: Connection, routing_key: str, shard: str, booking: Booking) -> None:
        payload = {
            "type": routing_key,
            "shard": shard,
            "booking_id": booking.id,
            "event_id": booking.event_id,
            "tickets": len(booking.seat_ids),
            "amount": str(booking.amount),
            "customer": booking.customer,
            "at": time.time(),
        }
        await conn.execute("INSERT INTO outbox (routing_key, payload) VALUES (%s, %s)", (routing_key, Jsonb(payload)))

    async def get(self, booking_id: int, customer: str) -> Booking:
        shard = self._shard(booking_id, "booking")
        # Read from the primary: a client reading its own booking right after buying must see it.
        async with self._pools.primary(shard) as conn:
            booking = await self._load(conn, booking_id)
        require_owner(booking.customer, customer, f"booking {booking_id}")
        return booking

    async def cancel(self, booking_id: int, customer: str) -> Booking:
        shard = self._shard(booking_id, "booking")
        async with self._pools.primary(shard) as conn, conn.transaction():
            cur = await conn.execute(
                "SELECT id, status, customer FROM bookings WHERE id = %s FOR UPDATE", (booking_id,)
            )
            row = await cur.fetchone()
            if row is None:
                raise errors.NotFound(f"booking {booking_id} does not exist")
            require_owner(row["customer"], customer, f"booking {booking_id}")
            if row["status"] == "cancelled":  # cancelling twice is not an error: same answer
                return await self._load(conn, booking_id)
            cur = await conn.execute(
                "SELECT t.id FROM tickets t JOIN booking_items i ON i.ticket_id = t.id "
                "WHERE i.booking_id = %s AND NOT i.released ORDER BY t.id FOR UPDATE OF t",
                (booking_id,),
            )
            seat_ids = [r["id"] for r in await cur.fetchall()]
            cur = await conn.execute(
                "UPDATE tickets SET status = 'available', booking_id = NULL, version = version + 1 "
                "WHERE id = ANY(%s) RETURNING id, status, held_until, version",
                (seat_ids,),
            )
            changed = await cur.fetchall()
            await conn.execute("UPDATE booking_items SET released = true WHERE booking_id = %s", (booking_id,))
            await conn.execute(
                "UPDATE bookings SET status = 'cancelled', cancelled_at = now() WHERE id = %s", (booking_id,)
            )
            booking = await self._load(conn, booking_id)
            await self._outbox(conn, "booking.cancelled", shard, booking)
        await self._write_through(booking.event_id, changed)
        return booking
