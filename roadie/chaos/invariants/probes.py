"""Checks of the booking invariants, asked from the current primary through HAProxy."""

import psycopg
from chaoslib.types import Configuration, Secrets

from roadie.chaos.context import endpoints
from roadie.chaos.context import secrets as lab_secrets
from roadie.drills.probes import PROBE_TABLE, PgTarget

__all__ = ["seats_sold_twice"]

# A ticket in two live bookings: its items not released, their bookings still confirmed
# (app/tickets/schema.py, migration 2; the partial unique index on booking_items should make
# this impossible, and this query is how we prove it held).
TICKETS_SOLD_TWICE = """
    select count(*) from (
        select bi.ticket_id
        from booking_items bi join bookings b on b.id = bi.booking_id
        where not bi.released and b.status = 'confirmed'
        group by bi.ticket_id
        having count(*) > 1
    ) twice
"""
PROBE_KEYS_TWICE = f"select count(*) from (select key from {PROBE_TABLE} group by key having count(*) > 1) twice"


def _count(target: PgTarget, query: str) -> int:
    with psycopg.connect(target.conninfo(), autocommit=True) as conn:
        row = conn.execute(query).fetchone()
    return int(row[0]) if row else 0


def _has_table(target: PgTarget, table: str) -> bool:
    with psycopg.connect(target.conninfo(), autocommit=True) as conn:
        row = conn.execute("select to_regclass(%s) is not null", (table,)).fetchone()
    return bool(row and row[0])


def _databases(base: PgTarget) -> list[str]:
    with psycopg.connect(base.conninfo(), autocommit=True) as conn:
        rows = conn.execute(
            "select datname from pg_database where not datistemplate and datallowconn "
            "and has_database_privilege(datname, 'CONNECT') order by datname"
        ).fetchall()
    return [r[0] for r in rows]


def seats_sold_twice(configuration: Configuration | None = None, secrets: Secrets | None = None) -> int:
    """How many tickets are in two live bookings at once, summed over every database that
    holds the tickets app's schema (one per shard); without the app, how many drill probe
    keys were written twice. Must be 0."""
    address, port, _ = endpoints(configuration).pg_lb
    base = PgTarget(address, port, "app", lab_secrets(configuration)["postgres_app"])
    shards = [
        t
        for t in (PgTarget(address, port, base.user, base.password, db) for db in _databases(base))
        if _has_table(t, "booking_items")
    ]
    if shards:
        return sum(_count(t, TICKETS_SOLD_TWICE) for t in shards)
    if _has_table(base, PROBE_TABLE):
        return _count(base, PROBE_KEYS_TWICE)
    return 0
