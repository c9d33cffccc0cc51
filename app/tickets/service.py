"""The ticketing half wired to its infrastructure: built from the settings, opened and closed
with the app."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from app.common import redis as redis_client
from app.common.db import Connection, ShardPools
from app.common.retry import Backoff, RetryPolicy
from app.common.settings import Settings
from app.tickets.booking import Bookings
from app.tickets.cache import TicketCache
from app.tickets.catalogue import Catalogue
from app.tickets.sessions import Sessions
from app.tickets.shards import ShardMap


def booking_retry(settings: Settings) -> RetryPolicy:
    """How bookings are re-run through a failover. With the deadline 0 a booking has one
    attempt, which waits for a connection as long as any request (postgres.pool_timeout)."""
    t = settings.tickets
    retried = t.booking_retry_deadline_seconds > 0
    return RetryPolicy(
        deadline=t.booking_retry_deadline_seconds,
        backoff=Backoff(t.booking_retry_backoff_first_seconds, t.booking_retry_backoff_max_seconds),
        connection_wait=t.booking_retry_connection_wait_seconds if retried else settings.postgres.pool_timeout,
    )


@dataclass
class Tickets:
    settings: Settings
    pools: ShardPools
    redis: Redis
    catalogue: Catalogue
    bookings: Bookings
    sessions: Sessions

    @classmethod
    def build(cls, settings: Settings) -> Tickets:
        shards = ShardMap.from_settings(settings)
        pools = ShardPools(settings.postgres, settings.shards, application=f"roadie-app@{settings.node}")
        redis = redis_client.connect(settings.redis)
        t = settings.tickets
        cache = TicketCache(redis, t.cache_ttl_seconds, t.listing_cache_ttl_seconds)
        return cls(
            settings=settings,
            pools=pools,
            redis=redis,
            catalogue=Catalogue(settings, shards, pools, cache),
            bookings=Bookings(shards, pools, cache, t.hold_minutes_default, booking_retry(settings)),
            sessions=Sessions(redis, t.session_ttl_seconds),
        )

    async def open(self) -> None:
        await self.pools.open()

    async def close(self) -> None:
        await self.pools.close()
        await self.redis.aclose()

    async def readiness(self, timeout: float = 2.0) -> dict[str, str]:
        """Each dependency: "ok" or why not. Bounded: every check has its own timeout."""
        checks: dict[str, Coroutine[Any, Any, str]] = {"redis": self._check(self.redis.ping(), timeout)}
        for shard in self.pools.shards:
            checks[f"postgres:{shard}:primary"] = self._check(self._select_one(self.pools.primary, shard), timeout)
            checks[f"postgres:{shard}:replica"] = self._check(self._select_one(self.pools.replica, shard), timeout)
        names = list(checks)
        results = await asyncio.gather(*checks.values())
        return dict(zip(names, results, strict=True))

    @staticmethod
    async def _select_one(connect: Callable[[str], AbstractAsyncContextManager[Connection]], shard: str) -> None:
        async with connect(shard) as conn:
            await conn.execute("SELECT 1")

    @staticmethod
    async def _check(probe: Awaitable[object], timeout: float) -> str:
        try:
            await asyncio.wait_for(probe, timeout)
        except TimeoutError:
            return f"no answer within {timeout:g}s"
        except Exception as exc:  # any failure is an answer here, not an error
            return f"{type(exc).__name__}: {exc}"[:200]
        return "ok"
