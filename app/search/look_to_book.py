"""Look-to-book ratio per supplier: supplier searches ("looks") per booking, counted cluster-wide.

Contracts cap it (e.g. 3,000 looks per booking); above the cap a supplier raises prices or
disconnects. Every node adds to one Redis hash per supplier and UTC day, so the ratio is the
cluster's, not one node's::

    <prefix>:<supplier>:<YYYY-MM-DD>   fields: looks (supplier calls), hotels (hotels asked), bookings

``LookToBookGuard`` enforces a contract's cap (``LookToBookCap``) on the node that is about to
call: below ``throttle_from`` (80 %) of the cap every uncached lookup goes out; between it and the
cap a falling share of them, from all at 80 % to none at 100 % (a deterministic credit, not a
coin: the share is exact); at the cap none: the supplier's offers come from the cache only until
bookings bring the ratio down. The cluster's counts are read at most once per ``refresh``
seconds (one ``HGETALL`` per day of the period), plus the looks this node made since; when Redis
cannot be read the last counts stand, plus this node's looks since (never fewer looks than known).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from redis.exceptions import RedisError

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

RETENTION_DAYS = 35
DEFAULT_THROTTLE_FROM = 0.8


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


@dataclass(frozen=True, slots=True)
class LookToBookCap:
    """A contract's cap: at most ``max_ratio`` looks per booking over the last ``days`` UTC days;
    uncached lookups are throttled from ``throttle_from`` of it."""

    max_ratio: float
    throttle_from: float = DEFAULT_THROTTLE_FROM
    days: int = 1

    def __post_init__(self) -> None:
        if not self.max_ratio > 0:
            raise ValueError(f"look_to_book max_ratio must be above 0 (got {self.max_ratio})")
        if not 0 < self.throttle_from <= 1:
            raise ValueError(f"look_to_book throttle_from must be in (0, 1] (got {self.throttle_from})")
        if not 1 <= self.days <= RETENTION_DAYS:
            raise ValueError(f"look_to_book days must be 1..{RETENTION_DAYS} (got {self.days})")

    def used(self, counts: LookToBook) -> float:
        """The share of the cap used (1.0 at the cap)."""
        return counts.looks / (self.max_ratio * max(1, counts.bookings))

    def admitted_share(self, counts: LookToBook) -> float:
        """Share of uncached lookups that may go out: 1 below ``throttle_from``, 0 at the cap."""
        used = self.used(counts)
        if used < self.throttle_from:
            return 1.0
        if used >= 1 or self.throttle_from >= 1:
            return 0.0
        return (1 - used) / (1 - self.throttle_from)


class LookToBookThrottled(RuntimeError):
    """The supplier's look-to-book ratio is near or at its cap: this lookup is not sent."""


class LookReader(Protocol):
    """What the guard reads (``LookToBookTracker`` is one)."""

    async def read(self, supplier: str, days: int = 1) -> LookToBook: ...


@dataclass(slots=True)
class _Known:
    counts: LookToBook
    read_at: float
    since: int = 0  # looks this node made after the read
    credit: float = field(default=0.0)


class LookToBookGuard:
    """Enforces look-to-book caps before a supplier call (suppliers without a cap are not held)."""

    def __init__(
        self,
        tracker: LookReader,
        caps: Mapping[str, LookToBookCap],
        *,
        refresh: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.caps = dict(caps)
        self._tracker = tracker
        self._refresh = refresh
        self._clock = clock
        self._known: dict[str, _Known] = {}

    async def admit(self, supplier: str) -> None:
        """Let one uncached lookup of ``supplier`` go out, or raise ``LookToBookThrottled``."""
        cap = self.caps.get(supplier)
        if cap is None:
            return
        known = await self._counts(supplier, cap)
        counts = LookToBook(supplier, known.counts.looks + known.since, known.counts.hotels, known.counts.bookings)
        share = cap.admitted_share(counts)
        known.credit = min(1.0, known.credit + share)
        if known.credit >= 1.0:
            known.credit -= 1.0
            return
        ratio = f"{counts.looks} looks for {counts.bookings} bookings"
        state = "at its cap" if share == 0 else f"{cap.used(counts):.0%} of its cap, {share:.0%} of lookups sent"
        raise LookToBookThrottled(
            f"{supplier}: look-to-book {ratio} is {state} ({cap.max_ratio:g} per booking): cached offers only"
        )

    def looked(self, supplier: str) -> None:
        """This node made one look (counted until the next read brings the cluster's count)."""
        known = self._known.get(supplier)
        if known is not None:
            known.since += 1

    async def _counts(self, supplier: str, cap: LookToBookCap) -> _Known:
        known = self._known.get(supplier)
        now = self._clock()
        if known is not None and now - known.read_at < self._refresh:
            return known
        try:
            counts = await self._tracker.read(supplier, cap.days)
        except (RedisError, OSError) as exc:
            if known is None:
                known = self._known[supplier] = _Known(LookToBook(supplier, 0, 0, 0), now)
            log.warning("%s: look-to-book counts unreadable, using the last ones: %s", supplier, exc)
            known.read_at = now
            return known
        if known is None:
            known = self._known[supplier] = _Known(counts, now)
        else:
            known.counts, known.read_at, known.since = counts, now, 0
        return known
