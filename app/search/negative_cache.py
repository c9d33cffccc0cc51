"""The negative cache: "this supplier has nothing for this hotel, stay window and occupancy".

Half of all supplier answers are "unavailable". Keeping each as a key costs an Aerospike
primary-index entry (64 bytes) for a record that holds nothing, so these answers go to Bloom
filters on Redis bitmaps instead (about 21 bits each at a 0.01 % false-positive rate, shared by
every search node).

What an entry says (the design document's key): supplier + hotel + **stay window** + occupancy,
where the stay window is *days until check-in* and *nights*. Suppliers state their restrictions
in exactly these terms (booking lead time, minimum/maximum stay), so the answer "nothing for a
5-night stay starting in 3 days" is what they really told us.

Time buckets: filters cannot delete, so entries expire by bucket. The bucket length for a search
depth is half that depth's offer TTL (``ttl.TtlTable``): a same-day "unavailable" is forgotten
within minutes, a months-ahead one within hours. An element is added to the current bucket and
looked up in the current and previous bucket, so it is believed for between TTL/2 and TTL. One
filter key per supplier, TTL band and bucket::

    bloom:neg:v1:<supplier>:t<band>:<bucket number>

A false positive hides one supplier's offer for one hotel until the bucket expires; the filter is
sized so that happens to fewer than 1 in 10,000 lookups.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from app.search.bloom import DEFAULT_TARGET_FPR, BloomParams, RedisBloom
from app.search.ttl import TtlTable

if TYPE_CHECKING:
    from redis.asyncio import Redis

EXPIRY_GRACE_SECONDS = 60


class NegativeKey(NamedTuple):
    """One "unavailable" answer: supplier, hotel, stay window (depth, nights), occupancy."""

    supplier: str
    hotel_id: str
    depth_days: int
    nights: int
    occupancy: str

    def element(self) -> bytes:
        """The bytes hashed into the supplier's filter (the supplier is in the filter's key)."""
        return f"{self.hotel_id}|d{self.depth_days}|{self.nights}n|{self.occupancy}".encode()


@dataclass(frozen=True, slots=True)
class NegativeCacheConfig:
    """``capacity``: expected insertions per supplier, TTL band and bucket (sizes each filter)."""

    capacity: int = 100_000
    target_fpr: float = DEFAULT_TARGET_FPR
    ttl_table: TtlTable = field(default_factory=TtlTable.default)
    key_prefix: str = "bloom:neg:v1"


@dataclass(frozen=True, slots=True)
class Bucket:
    key: str
    previous_key: str
    expire_at: int


class BloomNegativeCache:
    """Remember and look up "unavailable" answers; each call is one Redis round trip."""

    def __init__(self, redis: Redis, config: NegativeCacheConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.params = BloomParams.for_capacity(config.capacity, config.target_fpr)
        self._bloom = RedisBloom(redis, self.params)
        self._clock = clock

    def bucket(self, supplier: str, depth_days: int, now: float | None = None) -> Bucket:
        """The filter keys an entry for ``supplier`` at ``depth_days`` goes to / is looked up in."""
        now = self._clock() if now is None else now
        table = self.config.ttl_table
        length = max(1, table.for_depth(depth_days) // 2)
        number = int(now // length)
        base = f"{self.config.key_prefix}:{supplier}:t{table.band(depth_days)}"
        return Bucket(
            key=f"{base}:{number}",
            previous_key=f"{base}:{number - 1}",
            expire_at=(number + 2) * length + EXPIRY_GRACE_SECONDS,
        )

    async def add_many(self, keys: Sequence[NegativeKey]) -> None:
        now = self._clock()
        items, expiry = [], {}
        for key in keys:
            bucket = self.bucket(key.supplier, key.depth_days, now)
            items.append((bucket.key, key.element()))
            expiry[bucket.key] = bucket.expire_at
        await self._bloom.add(items, expiry)

    async def contains_many(self, keys: Sequence[NegativeKey]) -> list[bool]:
        now = self._clock()
        items = []
        for key in keys:
            bucket = self.bucket(key.supplier, key.depth_days, now)
            items.append(((bucket.key, bucket.previous_key), key.element()))
        return await self._bloom.contains(items)

    def describe(self) -> Mapping[str, float | int]:
        """Sizing facts for ``lab status`` and the benchmark."""
        return {
            "capacity_per_filter": self.params.capacity,
            "bits": self.params.bits,
            "hashes": self.params.hashes,
            "bits_per_key": round(self.params.bits_per_key, 2),
            "expected_fpr": self.params.expected_fpr(),
            "bytes_per_filter": self.params.size_bytes,
        }
