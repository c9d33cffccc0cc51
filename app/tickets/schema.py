"""The schema of one shard database, as ordered migrations (applied once each, recorded).

Consistency lives here as much as in the code: seats are unique per event, a ticket can be in
at most one live booking item (the last line of defence behind the row locks), and every
state change of a booking writes an outbox row in the same transaction.
"""

from __future__ import annotations

from typing import NamedTuple


class Migration(NamedTuple):
    version: int
    name: str
    sql: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "catalogue",
        """
        CREATE TABLE cities (id integer PRIMARY KEY, name text NOT NULL);
        CREATE TABLE venues (
            id bigserial PRIMARY KEY,
            city_id integer NOT NULL REFERENCES cities,
            name text NOT NULL,
            UNIQUE (city_id, name)
        );
        -- Local part of every id the shard issues; the shard number is added by the app.
        CREATE SEQUENCE ids;
        -- Partitioned by date (monthly; see partitions.py). The partition key must be part of
        -- the primary key, so seats refer to events by id without a foreign key.
        CREATE TABLE events (
            id bigint NOT NULL,
            city_id integer NOT NULL REFERENCES cities,
            venue_id bigint NOT NULL REFERENCES venues,
            title text NOT NULL,
            event_date timestamptz NOT NULL,
            status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled')),
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (id, event_date)
        ) PARTITION BY RANGE (event_date);
        CREATE INDEX idx_events_city_date ON events (city_id, event_date) WHERE status = 'active';
        CREATE INDEX idx_events_id ON events (id);
        CREATE TABLE tickets (
            id bigserial PRIMARY KEY,
            event_id bigint NOT NULL,
            sector text NOT NULL,
            "row" integer NOT NULL,
            seat integer NOT NULL,
            price numeric(10, 2) NOT NULL CHECK (price >= 0),
            status text NOT NULL DEFAULT 'available' CHECK (status IN ('available', 'held', 'sold')),
            hold_id bigint,
            held_until timestamptz,
            booking_id bigint,
            -- Bumped on every change: cache writes carry it so an old state never overwrites a newer one.
            version integer NOT NULL DEFAULT 0
        );
        CREATE INDEX idx_tickets_availability ON tickets (event_id, status) WHERE status = 'available';
        CREATE UNIQUE INDEX idx_tickets_seat ON tickets (event_id, sector, "row", seat);
        """,
    ),
    Migration(
        2,
        "bookings",
        """
        CREATE TABLE holds (
            id bigint PRIMARY KEY,
            event_id bigint NOT NULL,
            session_id text,
            expires_at timestamptz NOT NULL,
            status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'booked')),
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE bookings (
            id bigint PRIMARY KEY,
            event_id bigint NOT NULL,
            hold_id bigint REFERENCES holds,
            session_id text,
            customer text,
            status text NOT NULL CHECK (status IN ('confirmed', 'cancelled')),
            amount numeric(12, 2) NOT NULL,
            idempotency_key text NOT NULL UNIQUE,
            request_hash text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            cancelled_at timestamptz
        );
        CREATE TABLE booking_items (
            booking_id bigint NOT NULL REFERENCES bookings,
            ticket_id bigint NOT NULL REFERENCES tickets,
            price numeric(10, 2) NOT NULL,
            released boolean NOT NULL DEFAULT false,
            PRIMARY KEY (booking_id, ticket_id)
        );
        -- No seat sold twice, whatever the code above it does.
        CREATE UNIQUE INDEX idx_booking_items_live_ticket ON booking_items (ticket_id) WHERE NOT released;
        """,
    ),
    Migration(
        3,
        "outbox and consumers",
        """
        CREATE TABLE outbox (
            id bigserial PRIMARY KEY,
            routing_key text NOT NULL,
            payload jsonb NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            published_at timestamptz
        );
        CREATE INDEX idx_outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
        -- Messages already applied by the consumer (at-least-once delivery, exactly-once effect).
        CREATE TABLE inbox (message_id text PRIMARY KEY, processed_at timestamptz NOT NULL DEFAULT now());
        CREATE TABLE event_counters (
            event_id bigint PRIMARY KEY,
            tickets_sold integer NOT NULL DEFAULT 0,
            revenue numeric(14, 2) NOT NULL DEFAULT 0,
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE notifications (
            id bigserial PRIMARY KEY,
            booking_id bigint NOT NULL,
            kind text NOT NULL,
            message text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE SCHEMA archive;
        """,
    ),
    Migration(
        4,
        "hold owners",
        """
        -- A hold answers only its own customer (app.common.auth); holds made before have none
        -- and answer nobody (they expire within the hour anyway).
        ALTER TABLE holds ADD COLUMN customer text;
        """,
    ),
)
