"""The negative cache: "this supplier has nothing for this hotel, these dates and this occupancy".

Half of all supplier answers are "unavailable". Keeping each as a key costs an Aerospike
primary-index entry (64 bytes) for a record that holds nothing, so these answers go to Bloom
filters on Redis bitmaps instead (about 22 bits each, shared by every search node).

What an entry says (the design document's key): supplier + hotel + **check-in date** + nights +
occupancy. The check-in date must be in it: with only "days until check-in", an "unavailable"
learnt for check-in X at 23:59 would answer for X+1 a minute later. Days until check-in still
choose the TTL band, so a same-day answer is forgotten within minutes, a months-ahead one within
hours.

Time buckets: filters cannot delete, so entries expire by bucket. The bucket length for a search
depth is half that depth's offer TTL (``ttl.TtlTable``). An element is added to the current bucket
and looked up in the current and previous bucket, so it is believed for between TTL/2 and TTL.
Each (supplier, epoch, TTL band, bucket) is one scalable filter sharded over ``shards`` keys
(``bloom.ShardedRedisBloom``)::

    bloom:neg:v2:<supplier>:e<epoch>:t<band>:<bucket number>:s<shard>:g<generation>   bitmap
    bloom:neg:v2:<supplier>:e<epoch>:t<band>:<bucket number>:s<shard>:n               insertions

Two filters are consulted per lookup, so each is sized for half the target false-positive rate.

The epoch (``<prefix>:<supplier>:epoch``) lets an "all unavailable" episode be undone: the
answers written while a supplier had switched everything off poison the filter, and Bloom
filters cannot delete, so ``forget`` moves the supplier to a new epoch (empty filters). What it
knew before the episode is forgotten too; that costs supplier calls, never a hidden offer.
Nodes re-read a supplier's epoch at most every ``EPOCH_REFRESH_SECONDS``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, NamedTuple

from app.search.bloom import (
    DEFAULT_GROWTH,
    DEFAULT_MAX_GENERATIONS,
    DEFAULT_TARGET_FPR,
    ScalablePlan,
    ShardedRedisBloom,
)
from app.search.ttl import TtlTable

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

EXPIRY_GRACE_SECONDS = 60
EPOCH_REFRESH_SECONDS = 1.0
FORGET_MARK_SECONDS = 86_400
DEFAULT_SHARDS = 16
LOOKUP_FILTERS = 2  # current and previous bucket


class NegativeKey(NamedTuple):
    """One "unavailable" answer: supplier, hotel, check-in date, nights, occupancy."""

    supplier: str
    hotel_id: str
    checkin: date
    nights: int
    occupancy: str

    def element(self) -> bytes:
        """The bytes hashed into the supplier's filter (the supplier is in the filter's key)."""
        return f"{self.hotel_id}|{self.checkin.isoformat()}|{self.nights}n|{self.occupancy}".encode()


@dataclass(frozen=True, slots=True)
class NegativeCacheConfig:
    """``capacity``: expected insertions per supplier, TTL band and bucket (the first generation,
    split over ``shards`` keys); past it a filter grows (``growth`` times per generation, at most
    ``max_generations``) instead of saturating."""

    capacity: int = 100_000
    target_fpr: float = DEFAULT_TARGET_FPR
    shards: int = DEFAULT_SHARDS
    growth: int = DEFAULT_GROWTH
    max_generations: int = DEFAULT_MAX_GENERATIONS
    ttl_table: TtlTable = field(default_factory=TtlTable.default)
    key_prefix: str = "bloom:neg:v2"

    def plan(self) -> ScalablePlan:
        """One shard's generations; a lookup reads two filters, so each gets half the target."""
        per_shard = -(-self.capacity // self.shards)
        return ScalablePlan(
            per_shard,
            self.target_fpr / LOOKUP_FILTERS,
            growth=self.growth,
            max_generations=self.max_generations,
        )


@dataclass(frozen=True, slots=True)
class Bucket:
    key: str
    previous_key: str
    expire_at: int


@dataclass(frozen=True, slots=True)
class FilterFill:
    """How full one supplier's filters of one TTL band are (the worst shard), for metrics."""

    supplier: str
    band: int
    insertions: int  # in the current bucket, all shards
    fill_ratio: float  # set bits in the newest generation of the fullest shard
    estimated_fpr: float  # of a lookup: current + previous bucket, fullest shards


class BloomNegativeCache:
    """Remember and look up "unavailable" answers (two Redis round trips per call)."""

    def __init__(self, redis: Redis, config: NegativeCacheConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.plan = config.plan()
        self.params = self.plan.generations[0]
        self._bloom = ShardedRedisBloom(redis, self.plan, config.shards)
        self._redis = redis
        self._clock = clock
        self._epochs: dict[str, tuple[int, float]] = {}

    def bucket(self, supplier: str, checkin: date, now: float | None = None, epoch: int = 0) -> Bucket:
        """The filter keys an entry for ``supplier`` and ``checkin`` goes to / is looked up in."""
        now = self._clock() if now is None else now
        today = datetime.fromtimestamp(now, UTC).date()
        return self._band_bucket(supplier, self.config.ttl_table.band((checkin - today).days), now, epoch)

    def _band_bucket(self, supplier: str, band: int, now: float, epoch: int) -> Bucket:
        length = max(1, self.config.ttl_table.rows[band].ttl_seconds // 2)
        number = int(now // length)
        base = f"{self.config.key_prefix}:{supplier}:e{epoch}:t{band}"
        return Bucket(
            key=f"{base}:{number}",
            previous_key=f"{base}:{number - 1}",
            expire_at=(number + 2) * length + EXPIRY_GRACE_SECONDS,
        )

    async def add_many(self, keys: Sequence[NegativeKey]) -> None:
        now = self._clock()
        epochs = await self._current_epochs({key.supplier for key in keys}, now)
        items, expiry = [], {}
        for key in keys:
            bucket = self.bucket(key.supplier, key.checkin, now, epochs[key.supplier])
            items.append((bucket.key, key.element()))
            expiry[bucket.key] = bucket.expire_at
        await self._bloom.add(items, expiry)

    async def contains_many(self, keys: Sequence[NegativeKey]) -> list[bool]:
        now = self._clock()
        epochs = await self._current_epochs({key.supplier for key in keys}, now)
        items = []
        for key in keys:
            bucket = self.bucket(key.supplier, key.checkin, now, epochs[key.supplier])
            items.append(((bucket.key, bucket.previous_key), key.element()))
        return await self._bloom.contains(items)

    async def forget(self, supplier: str, episode: str) -> None:
        """Drop what ``supplier``'s filters hold (an "all unavailable" ``episode`` poisoned them).

        Every node that sees the episode calls this; only the first moves the epoch on."""
        mark = f"{self.config.key_prefix}:{supplier}:forgot:{episode}"
        if await self._redis.set(mark, 1, nx=True, ex=FORGET_MARK_SECONDS):
            epoch = int(await self._redis.incr(self._epoch_key(supplier)))
            self._epochs[supplier] = (epoch, self._clock())
            log.warning("negative cache of %s forgotten (episode %s): epoch %d", supplier, episode, epoch)
        else:
            self._epochs.pop(supplier, None)  # another node moved it on: re-read it

    async def fill(self, suppliers: Sequence[str]) -> list[FilterFill]:
        """Fill and estimated FPR per supplier and TTL band (one round trip, plus stale epochs)."""
        now = self._clock()
        epochs = await self._current_epochs(set(suppliers), now)
        shard_ids = range(self.config.shards)
        rows = [
            (supplier, band, self._band_bucket(supplier, band, now, epochs[supplier]))
            for supplier in suppliers
            for band in range(len(self.config.ttl_table.rows))
        ]
        keys = [f"{base}:s{i}" for _, _, b in rows for base in (b.key, b.previous_key) for i in shard_ids]
        counts = iter(await self._bloom.counts(keys))
        fills = []
        for supplier, band, _ in rows:
            current = [next(counts) for _ in shard_ids]
            previous = [next(counts) for _ in shard_ids]
            worst = max(current)
            fills.append(
                FilterFill(
                    supplier=supplier,
                    band=band,
                    insertions=sum(current),
                    fill_ratio=self.plan.fill_ratio(worst),
                    estimated_fpr=self.plan.expected_fpr(worst) + self.plan.expected_fpr(max(previous)),
                )
            )
        return fills

    def describe(self) -> Mapping[str, float | int]:
        """Sizing facts for ``lab status`` and the benchmark (the first generation of a shard)."""
        return {
            "capacity_per_filter": self.config.capacity,
            "shards": self.config.shards,
            "capacity_per_shard": self.params.capacity,
            "max_generations": self.plan.max_generations,
            "bits": self.params.bits,
            "hashes": self.params.hashes,
            "bits_per_key": round(self.params.bits_per_key, 2),
            "target_fpr": self.config.target_fpr,
            "bytes_per_shard": self.params.size_bytes,
        }

    def _epoch_key(self, supplier: str) -> str:
        return f"{self.config.key_prefix}:{supplier}:epoch"

    async def _current_epochs(self, suppliers: set[str], now: float) -> dict[str, int]:
        stale = sorted(s for s in suppliers if now - self._epochs.get(s, (0, -math.inf))[1] >= EPOCH_REFRESH_SECONDS)
        if stale:
            values = await self._redis.mget([self._epoch_key(s) for s in stale])
            for supplier, value in zip(stale, values, strict=True):
                self._epochs[supplier] = (int(value) if value is not None else 0, now)
        return {supplier: self._epochs[supplier][0] for supplier in suppliers}
