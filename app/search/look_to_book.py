"""Look-to-book ratio per supplier: supplier searches ("looks") per booking, counted cluster-wide.

Contracts cap it (e.g. 3,000 looks per booking); above the cap a supplier raises prices or
disconnects. Every node adds to one Redis hash per supplier and UTC day, so the ratio is the
cluster's, not one node's::

    <prefix>:<supplier>:<YYYY-MM-DD>   fields: looks (supplier calls), hotels (hotels asked), bookings
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis.asyncio import Redis

RETENTION_DAYS = 35


@dataclass(frozen=True, slots=True)
class LookToBook:
    supplier: str
    looks: int
    hotels: int
    bookings: int

    @property
    def ratio(self) -> float | None:
        """Looks per booking; None before the first booking."""
        return self.looks / self.bookings if self.bookings else None

    def over(self, max_ratio: float) -> bool:
        """Is the ratio above the contract's cap? (With no bookings yet: are looks above it?)"""
        return self.looks > max_ratio * max(1, self.bookings)


class LookToBookTracker:
    def __init__(self, redis: Redis, *, prefix: str = "l2b:v1", clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._prefix = prefix
        self._clock = clock

    def key(self, supplier: str, day: str) -> str:
        return f"{self._prefix}:{supplier}:{day}"

    async def record_look(self, supplier: str, hotels: int) -> None:
        await self._add(supplier, {"looks": 1, "hotels": hotels})

    async def record_booking(self, supplier: str) -> None:
        await self._add(supplier, {"bookings": 1})

    async def read(self, supplier: str, days: int = 1) -> LookToBook:
        """Totals over the last ``days`` UTC days, today included."""
        today = datetime.fromtimestamp(self._clock(), UTC).date()
        pipe = self._redis.pipeline(transaction=False)
        for back in range(days):
            pipe.hgetall(self.key(supplier, (today - timedelta(days=back)).isoformat()))
        totals = {"looks": 0, "hotels": 0, "bookings": 0}
        for fields in await pipe.execute():
            for name, value in fields.items():
                text = name.decode() if isinstance(name, bytes) else name
                if text in totals:
                    totals[text] += int(value)
        return LookToBook(supplier, **totals)

    async def _add(self, supplier: str, fields: Mapping[str, int]) -> None:
        day = datetime.fromtimestamp(self._clock(), UTC).date().isoformat()
        key = self.key(supplier, day)
        pipe = self._redis.pipeline(transaction=False)
        for name, value in fields.items():
            pipe.hincrby(key, name, value)
        pipe.expire(key, RETENTION_DAYS * 86400)
        await pipe.execute()
