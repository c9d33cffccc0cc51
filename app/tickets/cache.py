"""The read cache in Redis: cache-aside for the catalogue, write-through for seat states.

Keys (all with a TTL, so a lost invalidation heals by itself):
- ``tickets:events:{city}:{from}:{to}:{limit}`` event listings (JSON), short TTL;
- ``tickets:event:{id}`` static event facts and seat layout (JSON);
- ``tickets:seats:{id}`` a hash ticket id → "version|status|held_until" (+ ``_complete``).

Seat states are written through after every committed hold, booking and cancellation by a
script that only ever replaces a state with a newer version, so concurrent writers and a
reader filling the cache from a lagging replica cannot put an older state back, even when
the write-through lands before the reader's fill.
Redis being down is never fatal: reads fall through to PostgreSQL.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.common.metrics import CACHE
from app.tickets.seatstate import SeatState

log = logging.getLogger(__name__)

# KEYS[1]: hash; ARGV: ttl, complete ("1" when the triples are every seat of the event, read
# from the database), then (field, version, state) triples. A state is only ever replaced by a
# newer version. Write-throughs may create a partial hash: readers trust a hash only once a
# full load marked it complete, and that load cannot undo the newer states already in it.
MERGE_SEATS = """
local exists = redis.call('EXISTS', KEYS[1])
local n = 0
for i = 3, #ARGV, 3 do
  local current = redis.call('HGET', KEYS[1], ARGV[i])
  local newer = tonumber(ARGV[i + 1])
  local have = -1
  if current then have = tonumber(string.match(current, '^(%-?%d+)|')) end
  if newer > have then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1] .. '|' .. ARGV[i + 2])
    n = n + 1
  end
end
if ARGV[2] == '1' then redis.call('HSET', KEYS[1], '_complete', '1') end
if exists == 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""
COMPLETE = "_complete"


def listing_key(city_id: int, start: str, end: str, limit: int) -> str:
    return f"tickets:events:{city_id}:{start}:{end}:{limit}"


def event_key(event_id: int) -> str:
    return f"tickets:event:{event_id}"


def seats_key(event_id: int) -> str:
    return f"tickets:seats:{event_id}"


class TicketCache:
    def __init__(self, redis: Redis, ttl: int, listing_ttl: int) -> None:
        self._redis = redis
        self._ttl = ttl
        self._listing_ttl = listing_ttl
        self._merge = redis.register_script(MERGE_SEATS)

    async def get_json(self, key: str, kind: str) -> Any | None:
        try:
            raw = await self._redis.get(key)
        except RedisError as exc:
            CACHE.labels(kind, "error").inc()
            log.warning("cache read of %s failed: %s", key, exc)
            return None
        CACHE.labels(kind, "hit" if raw is not None else "miss").inc()
        return json.loads(raw) if raw is not None else None

    async def get_raw(self, key: str, kind: str) -> bytes | None:
        try:
            raw = await self._redis.get(key)
        except RedisError as exc:
            CACHE.labels(kind, "error").inc()
            log.warning("cache read of %s failed: %s", key, exc)
            return None
        CACHE.labels(kind, "hit" if raw is not None else "miss").inc()
        return raw.encode() if isinstance(raw, str) else raw

    async def set_raw(self, key: str, value: bytes, ttl: int) -> None:
        try:
            await self._redis.set(key, value, ex=ttl)
        except RedisError as exc:
            log.warning("cache write of %s failed: %s", key, exc)

    @property
    def listing_ttl(self) -> int:
        return self._listing_ttl

    async def set_json(self, key: str, value: Any, listing: bool = False) -> None:
        try:
            await self._redis.set(key, json.dumps(value, default=str), ex=self._listing_ttl if listing else self._ttl)
        except RedisError as exc:
            log.warning("cache write of %s failed: %s", key, exc)

    async def seat_states(self, event_id: int) -> dict[int, SeatState] | None:
        try:
            raw = await self._redis.hgetall(seats_key(event_id))
        except RedisError as exc:
            CACHE.labels("seats", "error").inc()
            log.warning("cache read of seats %s failed: %s", event_id, exc)
            return None
        complete = raw.pop(COMPLETE, None) is not None
        CACHE.labels("seats", "hit" if complete else "miss").inc()
        if not complete:
            return None
        return {int(k): SeatState.decode(v) for k, v in raw.items()}

    async def merge_seats(self, event_id: int, states: Iterable[tuple[int, SeatState]], complete: bool) -> None:
        args: list[Any] = [self._ttl, "1" if complete else "0"]
        for ticket_id, state in states:
            args += [ticket_id, state.version, state.encode()]
        if len(args) == 2:
            return
        try:
            await self._merge(keys=[seats_key(event_id)], args=args)
        except RedisError as exc:
            # The write-through failed: drop the hash so no reader trusts an older state.
            log.warning("seat write-through for event %s failed (%s); invalidating", event_id, exc)
            await self.invalidate(seats_key(event_id))

    async def invalidate(self, *keys: str) -> None:
        try:
            await self._redis.delete(*keys)
        except RedisError as exc:
            log.warning("cache invalidation of %s failed: %s", keys, exc)

    async def ping(self) -> bool:
        return bool(await self._redis.ping())
