"""The catalogue: creating events and the eventually consistent reads (replicas + cache)."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from pydantic import TypeAdapter

from app.common.db import Connection, ShardPools
from app.common.settings import Settings
from app.common.singleflight import SingleFlight
from app.tickets import errors
from app.tickets.cache import TicketCache, event_key, listing_key
from app.tickets.models import City, Event, EventCreate, EventDetail, EventStats, Seat, SeatMap
from app.tickets.seatstate import SeatState
from app.tickets.shards import ShardMap, UnknownCity, UnknownShard, encode_id

MAX_LISTING_DAYS = 366
LISTING = TypeAdapter(list[Event])


class Catalogue:
    def __init__(self, settings: Settings, shards: ShardMap, pools: ShardPools, cache: TicketCache) -> None:
        self._settings = settings
        self._shards = shards
        self._pools = pools
        self._cache = cache
        self._flight = SingleFlight()

    def cities(self) -> list[City]:
        return [City(id=c.id, name=c.name) for c in self._settings.cities]

    def shard_of_event(self, event_id: int) -> str:
        try:
            return self._shards.for_id(event_id)
        except UnknownShard:
            raise errors.NotFound(f"event {event_id} does not exist") from None

    async def create_event(self, body: EventCreate) -> EventDetail:
        try:
            shard = self._shards.for_city(body.city_id)
        except UnknownCity:
            raise errors.Invalid(f"unknown city {body.city_id}") from None
        number = self._shards.number(shard)
        async with self._pools.primary(shard) as conn, conn.transaction():
            cur = await conn.execute(
                "INSERT INTO venues (city_id, name) VALUES (%s, %s) "
                "ON CONFLICT (city_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
                (body.city_id, body.venue),
            )
            venue_id = (await cur.fetchone())["id"]
            cur = await conn.execute("SELECT nextval('ids') AS local")
            event_id = encode_id(number, (await cur.fetchone())["local"])
            try:
                async with conn.transaction():
                    await conn.execute(
                        "INSERT INTO events (id, city_id, venue_id, title, event_date) VALUES (%s, %s, %s, %s, %s)",
                        (event_id, body.city_id, venue_id, body.title, body.starts_at),
                    )
            except psycopg.errors.CheckViolation as exc:  # no partition covers that date
                raise errors.Invalid(f"starts_at {body.starts_at.isoformat()} is outside the bookable months") from exc
            for sector in body.sectors:
                await conn.execute(
                    'INSERT INTO tickets (event_id, sector, "row", seat, price) '
                    "SELECT %s, %s, r, s, %s FROM generate_series(1, %s) r, generate_series(1, %s) s",
                    (event_id, sector.name, sector.price, sector.rows, sector.seats_per_row),
                )
        total = sum(s.rows * s.seats_per_row for s in body.sectors)
        return EventDetail(
            id=event_id,
            city_id=body.city_id,
            venue=body.venue,
            title=body.title,
            starts_at=body.starts_at,
            status="active",
            min_price=min(s.price for s in body.sectors),
            seats_total=total,
            seats_available=total,
        )

    async def list_events(self, city_id: int, start: date | None, end: date | None, limit: int) -> bytes:
        """The listing as JSON bytes: from Redis, else from a replica (then cached)."""
        try:
            shard = self._shards.for_city(city_id)
        except UnknownCity:
            raise errors.NotFound(f"unknown city {city_id}") from None
        start = start or datetime.now(UTC).date()
        end = end or start + timedelta(days=90)
        if end < start or (end - start).days > MAX_LISTING_DAYS:
            raise errors.Invalid(f"date range must be ascending and at most {MAX_LISTING_DAYS} days")
        key = listing_key(city_id, start.isoformat(), end.isoformat(), limit)
        if (cached := await self._cache.get_raw(key, "listing")) is not None:
            return cached
        return await self._flight.do(
            key, lambda: self._load_listing(key, shard, city_id=city_id, start=start, end=end, limit=limit)
        )

    async def _load_listing(self, key: str, shard: str, *, city_id: int, start: date, end: date, limit: int) -> bytes:
        async with self._pools.replica(shard) as conn:
            cur = await conn.execute(
                "SELECT e.id, e.city_id, v.name AS venue, e.title, e.event_date AS starts_at, e.status, "
                "(SELECT min(price) FROM tickets t WHERE t.event_id = e.id) AS min_price "
                "FROM events e JOIN venues v ON v.id = e.venue_id "
                "WHERE e.city_id = %s AND e.status = 'active' AND e.event_date >= %s AND e.event_date < %s "
                "ORDER BY e.event_date, e.id LIMIT %s",
                (city_id, start, end + timedelta(days=1), limit),
            )
            events = [Event.model_validate(row) for row in await cur.fetchall()]
        body = LISTING.dump_json(events)
        await self._cache.set_raw(key, body, self._cache.listing_ttl)
        return body

    async def _layout(self, event_id: int) -> dict[str, Any]:
        """Static facts of an event and its seats (never change after creation): cache-aside."""
        key = event_key(event_id)
        if (cached := await self._cache.get_json(key, "event")) is not None:
            return cached
        return await self._flight.do(key, lambda: self._load_layout(event_id))

    async def _load_layout(self, event_id: int) -> dict[str, Any]:
        shard = self.shard_of_event(event_id)
        async with self._pools.replica(shard) as conn:
            found = await self._read_layout(conn, event_id)
        if found is None:
            # Not on the replica: perhaps just created and not replayed there yet. The primary
            # decides, so a client never gets a 404 for the event it was just answered 201 for.
            async with self._pools.primary(shard) as conn:
                found = await self._read_layout(conn, event_id)
        if found is None:
            raise errors.NotFound(f"event {event_id} does not exist")
        event, seats = found
        layout = {
            "event": Event.model_validate(event).model_dump(mode="json"),
            "seats": [{**s, "price": str(s["price"])} for s in seats],
        }
        await self._cache.set_json(event_key(event_id), layout)
        return layout

    @staticmethod
    async def _read_layout(conn: Connection, event_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        cur = await conn.execute(
            "SELECT e.id, e.city_id, v.name AS venue, e.title, e.event_date AS starts_at, e.status "
            "FROM events e JOIN venues v ON v.id = e.venue_id WHERE e.id = %s",
            (event_id,),
        )
        event = await cur.fetchone()
        if event is None:
            return None
        cur = await conn.execute(
            'SELECT id, sector, "row", seat, price FROM tickets WHERE event_id = %s ORDER BY id', (event_id,)
        )
        return event, await cur.fetchall()

    async def _states(self, event_id: int) -> dict[int, SeatState]:
        """Seat states: the write-through cache, filled from a replica when missing."""
        if (states := await self._cache.seat_states(event_id)) is not None:
            return states
        return await self._flight.do(f"states:{event_id}", lambda: self._load_states(event_id))

    async def _load_states(self, event_id: int) -> dict[int, SeatState]:
        async with self._pools.replica(self.shard_of_event(event_id)) as conn:
            cur = await conn.execute(
                "SELECT id, version, status, extract(epoch FROM held_until)::float8 AS until "
                "FROM tickets WHERE event_id = %s",
                (event_id,),
            )
            states = {r["id"]: SeatState(r["version"], r["status"], r["until"]) for r in await cur.fetchall()}
        await self._cache.merge_seats(event_id, states.items(), complete=True)
        return states

    async def seat_map(self, event_id: int) -> SeatMap:
        layout = await self._layout(event_id)
        states = await self._states(event_id)
        now = time.time()
        seats = []
        for s in layout["seats"]:
            state = states.get(s["id"])
            status = state.effective(now) if state else "available"
            seats.append(Seat(**s, status=status))
        return SeatMap(event_id=event_id, seats=seats)

    async def detail(self, event_id: int) -> EventDetail:
        layout = await self._layout(event_id)
        states = await self._states(event_id)
        now = time.time()
        available = sum(
            1 for s in layout["seats"] if (st := states.get(s["id"])) is None or st.effective(now) == "available"
        )
        prices = [Decimal(s["price"]) for s in layout["seats"]]
        facts = {**layout["event"], "min_price": min(prices) if prices else None}
        return EventDetail(**facts, seats_total=len(layout["seats"]), seats_available=available)

    async def stats(self, event_id: int) -> EventStats:
        """Business counters kept by the booking-events consumer (eventually consistent)."""
        await self._layout(event_id)  # 404 for an unknown event
        async with self._pools.replica(self.shard_of_event(event_id)) as conn:
            cur = await conn.execute(
                "SELECT tickets_sold, revenue FROM event_counters WHERE event_id = %s", (event_id,)
            )
            row = await cur.fetchone()
        return EventStats(
            event_id=event_id, tickets_sold=row["tickets_sold"] if row else 0, revenue=row["revenue"] if row else 0
        )
