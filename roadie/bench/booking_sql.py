"""The booking transaction's own SQL as a pgbench script: what the database must do per booking.

A direct purchase of one seat (`app/tickets/booking.py`, `Bookings._book_once`) is, on its
primary connection: BEGIN; the idempotency key's advisory lock; the lookup of the key; the
seat's row lock; the one statement that writes the sale (booking, item, ticket, hold, outbox
row: `SELL`); COMMIT. The script sends the same statements with the same parameters, in a
schema of its own (`booking_sql`, in the scratch database `bench`) made from the app's own
migrations, on the same primary, as the same user, with the same session settings and so the
same synchronous commit. `SELL` is imported from the app; the three shorter statements are
written inline there, so they are repeated here and a unit test finds each of them, verbatim,
in booking.py: when the app's SQL changes, that test fails until this script follows.

What differs, and why it does not change the database's work:
- parameters are pgbench variables (`:key`); the seat list is `ARRAY[:seat::bigint]`, as
  pgbench variables are scalars (the same `= ANY(array)` lookup on the primary key);
- the parameters the bench's purchases send as NULL (no hold, no session, no customer) are
  written as NULL;
- the key is the seat's number as text (unique per transaction, as each bench request's key).
Seats are drawn as the HTTP phase draws them: each transaction a distinct seat never sold
before (client c's k-th transaction takes seat c + clients x k of its run's range). Nothing
relays the outbox rows here: this is the booking SQL alone, without the platform around it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import psycopg

from app.tickets.booking import SELL
from app.tickets.schema import MIGRATIONS
from app.tickets.shards import encode_id
from roadie.errors import RoadieError

SCHEMA = "booking_sql"
SEATS_PER_EVENT = 5000
PRICE = "10.00"
# The request fingerprint the app stores per booking: a sha256 hex digest (64 characters).
REQUEST_HASH = "0" * 64

# Written inline in Bookings._book_once / _by_key / _lock_seats (see the module docstring).
ADVISORY_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))"
BY_KEY = "SELECT id, request_hash FROM bookings WHERE idempotency_key = %s"
LOCK_SEATS = (
    "SELECT id, status, hold_id, held_until, held_until > now() AS hold_live, price, version "
    "FROM tickets WHERE event_id = %s AND id = ANY(%s) ORDER BY id FOR UPDATE"
)
SEAT_ARRAY = "ARRAY[:seat::bigint]"
SELL_PARAMETERS = {
    "number": ":number",
    "shard": ":shard",
    "event_id": ":event_id",
    "hold_id": "NULL",
    "session_id": "NULL",
    "customer": "NULL",
    "amount": ":amount",
    "key": ":key",
    "hash": ":hash",
    "seat_ids": SEAT_ARRAY,
    "tickets": ":tickets",
}
PLACEHOLDER = re.compile(r"%\((\w+)\)s|%s")


def to_pgbench(sql: str, positional: Sequence[str] = (), named: Mapping[str, str] | None = None) -> str:
    """A psycopg statement with its placeholders replaced; every placeholder must be mapped
    and every mapping used, so a parameter added to the app's SQL fails here, loudly."""
    named = named or {}
    left = list(positional)
    used: set[str] = set()

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            if not left:
                raise RoadieError(f"more %s placeholders than parameters in: {sql[:80]}")
            return left.pop(0)
        if name not in named:
            raise RoadieError(f"the booking SQL has a parameter the pgbench script does not set: {name}")
        used.add(name)
        return named[name]

    converted = PLACEHOLDER.sub(replace, sql)
    if left or used != set(named):
        raise RoadieError(f"parameters unused by the booking SQL: {left or sorted(set(named) - used)}")
    return " ".join(converted.split())


def script() -> str:
    """The pgbench script of one booking (variables from `defines`)."""
    statements = [
        "BEGIN",
        to_pgbench(ADVISORY_LOCK, [":key"]),
        to_pgbench(BY_KEY, [":key"]),
        to_pgbench(LOCK_SEATS, [":event_id", SEAT_ARRAY]),
        to_pgbench(SELL, named=SELL_PARAMETERS),
        "COMMIT",
    ]
    return "\n".join(
        [
            # Client c's k-th transaction: a seat no other transaction of the run takes.
            "\\set n :client_id + :clients * :k",
            "\\set k :k + 1",
            "\\set seat :first_seat + :n",
            f"\\set event_id :first_seat + :n / {SEATS_PER_EVENT}",
            "\\set key :seat",
            *(f"{s};" for s in statements),
            "",
        ]
    )


@dataclass(frozen=True)
class SeatRange:
    """Seats [first, first + count): seat first + n belongs to event first + n // SEATS_PER_EVENT
    (ids never collide: a range's events are numbered within its own seats' ids)."""

    first: int
    count: int

    def defines(self, *, clients: int, shard: str, number: int) -> dict[str, str]:
        return {
            "first_seat": str(self.first),
            "clients": str(clients),
            "k": "0",
            "number": str(number),
            "shard": shard,
            "amount": PRICE,
            "hash": REQUEST_HASH,
            "tickets": "1",
        }


def prepare(conn: psycopg.Connection, *, number: int, ranges: Sequence[int]) -> list[SeatRange]:
    """A fresh `booking_sql` schema from the app's migrations, with available seats for runs of
    the given sizes (ids shaped as the app's: shard number << 48 | local id)."""
    conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    conn.execute("DROP SCHEMA IF EXISTS archive CASCADE")  # made by the migrations
    conn.execute(f"CREATE SCHEMA {SCHEMA}")
    conn.execute(f"SET search_path = {SCHEMA}")
    for migration in MIGRATIONS:
        conn.execute(migration.sql)
    seat_ranges, local = [], 1
    for count in ranges:
        seat_ranges.append(SeatRange(encode_id(number, local), count))
        conn.execute(
            'INSERT INTO tickets (id, event_id, sector, "row", seat, price) '
            "SELECT %(first)s + n, %(first)s + n / %(per)s, 'A', n %% %(per)s / 100 + 1, n %% 100 + 1, %(price)s "
            "FROM generate_series(0, %(count)s - 1) n",
            {"first": encode_id(number, local), "per": SEATS_PER_EVENT, "count": count, "price": PRICE},
        )
        local += count
    conn.execute(f"ANALYZE {SCHEMA}.tickets")
    return seat_ranges


def sold(conn: psycopg.Connection, seats: SeatRange) -> tuple[int, int]:
    """Seats of the range sold, and bookings holding them: both must equal the transactions."""
    row = conn.execute(
        f"SELECT count(*) FILTER (WHERE status = 'sold'), count(DISTINCT booking_id) FROM {SCHEMA}.tickets "
        "WHERE id >= %s AND id < %s",
        (seats.first, seats.first + seats.count),
    ).fetchone()
    return int(row[0]), int(row[1])
