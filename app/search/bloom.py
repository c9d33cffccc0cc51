"""Bloom filter maths, the bit positions of an element, and filters over bits in memory or in Redis.

Redis 7.0 has no Bloom commands, so a filter is a plain Redis string used as a bitmap. An element
sets or checks ``k`` bits; all of them travel in one ``BITFIELD`` (set) or ``BITFIELD_RO`` (check)
command per filter key, and a batch of elements is one pipeline: one network round trip.

Sizing, for ``n`` expected insertions and false-positive rate ``p``::

    m = ceil(-n * ln(p) / ln(2)^2)      bits
    k = round(m / n * ln(2))            hash functions
    p(n) = (1 - e^(-k*n/m))^k           the FPR once n elements are in

``BloomParams.for_capacity`` sizes for ``target_fpr * margin`` (margin 0.5 by default): the
formula gives the *expected* rate at exactly ``n`` insertions, so a filter sized for exactly the
target crosses it as soon as a bucket sees a few more insertions than planned or the sample is
unlucky. At 0.01 % this costs 20.6 bits per key instead of 19.2 (an Aerospike primary-index entry
costs 512 bits).

Positions use enhanced double hashing (Kirsch & Mitzenmacher; Dillinger & Manolios) over one
128-bit BLAKE2b digest: ``g_i = h1 + i*h2 + (i^3 - i)/6 mod m``. ``positions`` is a pure function
so the false-positive rate can be measured offline against ``BitArrayBloom``, which numbers bits
the way Redis does (bit 0 is the most significant bit of byte 0), so the same positions mean the
same bits in both.

A fixed-size filter saturates when a bucket sees more insertions than it was sized for (at 5x its
capacity the FPR is ~60 %). ``ScalablePlan`` is a scalable Bloom filter (Almeida, Baquero,
Preguiça, Hutchison 2007): insertions are counted, and once generation ``g`` holds its capacity
``c * growth^g`` the next ones go to a new, larger generation sized for a tighter rate
``p0 * tightening^g``. A lookup checks every generation, so its FPR is at most the sum of the
generations' rates, which stays below ``p0 / (1 - tightening)`` however many generations come.

``ShardedRedisBloom`` spreads each filter over ``shards`` Redis keys (an element's shard comes
from a hash independent of its bit positions), each shard a scalable filter with its own
insertion counter, so no single key takes every write of a busy supplier.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis.asyncio import Redis

REDIS_MAX_BITS = 2**32  # a Redis string holds at most 512 MiB
DEFAULT_TARGET_FPR = 1e-4
DEFAULT_MARGIN = 0.5
DEFAULT_GROWTH = 2
DEFAULT_TIGHTENING = 0.5
DEFAULT_MAX_GENERATIONS = 12


@dataclass(frozen=True, slots=True)
class BloomParams:
    """A filter's size: ``bits`` (m) and ``hashes`` (k), and the capacity (n) it was sized for."""

    bits: int
    hashes: int
    capacity: int

    def __post_init__(self) -> None:
        if not 1 <= self.bits <= REDIS_MAX_BITS:
            raise ValueError(f"a Bloom filter needs 1..{REDIS_MAX_BITS} bits (got {self.bits})")
        if self.hashes < 1 or self.capacity < 1:
            raise ValueError(f"hashes and capacity must be >= 1 (got {self.hashes}, {self.capacity})")

    @classmethod
    def for_capacity(
        cls, capacity: int, target_fpr: float = DEFAULT_TARGET_FPR, margin: float = DEFAULT_MARGIN
    ) -> BloomParams:
        """Size a filter for ``capacity`` insertions at ``target_fpr * margin`` expected FPR."""
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1 (got {capacity})")
        if not 0 < target_fpr < 1 or not 0 < margin <= 1:
            raise ValueError(f"need 0 < target_fpr < 1 and 0 < margin <= 1 (got {target_fpr}, {margin})")
        design = target_fpr * margin
        bits = math.ceil(-capacity * math.log(design) / math.log(2) ** 2)
        hashes = max(1, round(bits / capacity * math.log(2)))
        return cls(bits=bits, hashes=hashes, capacity=capacity)

    def expected_fpr(self, inserted: int | None = None) -> float:
        """The theoretical false-positive rate after ``inserted`` (default: capacity) elements."""
        n = self.capacity if inserted is None else inserted
        return (1.0 - math.exp(-self.hashes * n / self.bits)) ** self.hashes

    @property
    def bits_per_key(self) -> float:
        return self.bits / self.capacity

    @property
    def size_bytes(self) -> int:
        return (self.bits + 7) // 8


def positions(element: bytes, params: BloomParams) -> list[int]:
    """The ``k`` bit offsets of ``element`` in a filter of ``m`` bits (pure, deterministic)."""
    digest = hashlib.blake2b(element, digest_size=16).digest()
    h1 = int.from_bytes(digest[:8], "little")
    h2 = int.from_bytes(digest[8:], "little") | 1
    m = params.bits
    return [(h1 + i * h2 + (i * i * i - i) // 6) % m for i in range(params.hashes)]


class BitArrayBloom:
    """A Bloom filter in process memory, bit-for-bit the layout of the Redis bitmap."""

    def __init__(self, params: BloomParams) -> None:
        self.params = params
        self._bits = bytearray(params.size_bytes)

    def add(self, element: bytes) -> None:
        bits = self._bits
        for pos in positions(element, self.params):
            bits[pos >> 3] |= 0x80 >> (pos & 7)

    def __contains__(self, element: bytes) -> bool:
        bits = self._bits
        return all(bits[pos >> 3] & (0x80 >> (pos & 7)) for pos in positions(element, self.params))

    def to_bytes(self) -> bytes:
        return bytes(self._bits)

    def fill_ratio(self) -> float:
        return sum(byte.bit_count() for byte in self._bits) / self.params.bits


def bitfield_set_args(element_positions: Sequence[int]) -> list[str | int]:
    """``BITFIELD key`` arguments that set each position to 1."""
    args: list[str | int] = []
    for pos in element_positions:
        args += ["SET", "u1", pos, 1]
    return args


def bitfield_get_args(element_positions: Sequence[int]) -> list[str | int]:
    """``BITFIELD_RO key`` arguments that read each position."""
    args: list[str | int] = []
    for pos in element_positions:
        args += ["GET", "u1", pos]
    return args


@dataclass(frozen=True, slots=True)
class ScalablePlan:
    """The generations of a scalable filter: ``capacity`` insertions in the first, ``growth`` times
    more in each next one, and a lookup FPR below ``fpr`` however many generations are in use."""

    capacity: int
    fpr: float
    growth: int = DEFAULT_GROWTH
    tightening: float = DEFAULT_TIGHTENING
    max_generations: int = DEFAULT_MAX_GENERATIONS
    generations: tuple[BloomParams, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.capacity < 1 or not 0 < self.fpr < 1:
            raise ValueError(f"need capacity >= 1 and 0 < fpr < 1 (got {self.capacity}, {self.fpr})")
        if self.growth < 1 or not 0 < self.tightening < 1 or self.max_generations < 1:
            raise ValueError(
                f"need growth >= 1, 0 < tightening < 1, max_generations >= 1 "
                f"(got {self.growth}, {self.tightening}, {self.max_generations})"
            )
        first = self.fpr * (1 - self.tightening)  # the geometric series of the rates sums to fpr
        generations = tuple(
            BloomParams.for_capacity(self.capacity * self.growth**g, first * self.tightening**g, margin=1.0)
            for g in range(self.max_generations)
        )
        object.__setattr__(self, "generations", generations)

    def generation(self, slot: int) -> int | None:
        """The generation the ``slot``-th insertion (1-based) goes to; None once all are full."""
        for g, params in enumerate(self.generations):
            if slot <= params.capacity:
                return g
            slot -= params.capacity
        return None

    def in_use(self, inserted: int) -> int:
        """How many generations hold some of ``inserted`` insertions (0 for an empty filter)."""
        if inserted <= 0:
            return 0
        g = self.generation(inserted)
        return self.max_generations if g is None else g + 1

    def filled(self, inserted: int) -> list[int]:
        """Insertions per generation in use, after ``inserted`` insertions."""
        counts = []
        for params in self.generations[: self.in_use(inserted)]:
            counts.append(min(inserted, params.capacity))
            inserted -= counts[-1]
        return counts

    def expected_fpr(self, inserted: int) -> float:
        """The FPR of a lookup (every generation checked) after ``inserted`` insertions."""
        miss_all = 1.0
        for params, n in zip(self.generations, self.filled(inserted), strict=False):
            miss_all *= 1.0 - params.expected_fpr(n)
        return 1.0 - miss_all

    def fill_ratio(self, inserted: int) -> float:
        """The expected share of set bits in the newest generation in use (0 when empty)."""
        filled = self.filled(inserted)
        if not filled:
            return 0.0
        params = self.generations[len(filled) - 1]
        return 1.0 - math.exp(-params.hashes * filled[-1] / params.bits)


def shard_of(element: bytes, shards: int) -> int:
    """The shard of ``element``: a keyed hash, so it does not correlate with its bit positions."""
    digest = hashlib.blake2b(element, digest_size=8, person=b"bloomshard").digest()
    return int.from_bytes(digest, "little") % shards


class ShardedRedisBloom:
    """Scalable Bloom filters as Redis bitmaps, each filter sharded over ``shards`` keys.

    A filter is named by a base key; shard ``i`` of it is the bitmaps ``<base>:s<i>:g<generation>``
    and the insertion counter ``<base>:s<i>:n``. Adding is two round trips (``INCRBY`` reserves
    each element's insertion slot, which names its generation, then ``BITFIELD``), so concurrent
    writers never overfill a generation. A lookup is two as well: the counters say which
    generations exist, then one ``BITFIELD_RO`` per generation.
    """

    def __init__(self, redis: Redis, plan: ScalablePlan, shards: int) -> None:
        if shards < 1:
            raise ValueError(f"shards must be >= 1 (got {shards})")
        self._redis = redis
        self.plan = plan
        self.shards = shards

    def shard_key(self, base: str, element: bytes) -> str:
        return f"{base}:s{shard_of(element, self.shards)}"

    async def add(self, items: Sequence[tuple[str, bytes]], expire_at: Mapping[str, int]) -> None:
        """Add each ``(filter base key, element)``; ``expire_at`` maps base keys to a unix expiry."""
        if not items:
            return
        groups: dict[str, list[bytes]] = defaultdict(list)
        expiry: dict[str, int] = {}
        for base, element in items:
            shard = self.shard_key(base, element)
            groups[shard].append(element)
            expiry[shard] = expire_at[base]
        pipe = self._redis.pipeline(transaction=False)
        for shard, elements in groups.items():
            pipe.incrby(f"{shard}:n", len(elements))
            pipe.expireat(f"{shard}:n", expiry[shard])
        totals = (await pipe.execute())[::2]
        pipe = self._redis.pipeline(transaction=False)
        touched: set[str] = set()
        for (shard, elements), total in zip(groups.items(), totals, strict=True):
            first_slot = int(total) - len(elements) + 1
            for offset, element in enumerate(elements):
                g = self.plan.generation(first_slot + offset)
                if g is None:
                    continue  # every generation is full: not remembering costs a call, a false hit hides an offer
                key = f"{shard}:g{g}"
                pipe.execute_command("BITFIELD", key, *bitfield_set_args(positions(element, self.plan.generations[g])))
                touched.add(key)
        for key in touched:
            pipe.expireat(key, expiry[key.rsplit(":", 1)[0]])
        await pipe.execute()

    async def contains(self, items: Sequence[tuple[Sequence[str], bytes]]) -> list[bool]:
        """For each ``(filter base keys, element)``: is the element (probably) in any of them?"""
        if not items:
            return []
        shards = [[self.shard_key(base, element) for base in bases] for bases, element in items]
        distinct = sorted({shard for row in shards for shard in row})
        counts = dict(zip(distinct, await self.counts(distinct), strict=True))
        pipe = self._redis.pipeline(transaction=False)
        shape: list[int] = []
        for row, (_, element) in zip(shards, items, strict=True):
            asked = 0
            for shard in row:
                for g in range(self.plan.in_use(counts[shard])):
                    args = bitfield_get_args(positions(element, self.plan.generations[g]))
                    pipe.execute_command("BITFIELD_RO", f"{shard}:g{g}", *args)
                    asked += 1
            shape.append(asked)
        if not any(shape):
            return [False] * len(items)  # every filter asked about is empty: no second round trip
        replies = iter(await pipe.execute())
        # Every reply is consumed (a list, not a short-circuiting generator) to keep them aligned.
        return [any([all(int(bit) for bit in next(replies)) for _ in range(count)]) for count in shape]

    async def counts(self, shard_keys: Sequence[str]) -> list[int]:
        """Insertions counted in each shard (one ``MGET``)."""
        if not shard_keys:
            return []
        values = await self._redis.mget([f"{shard}:n" for shard in shard_keys])
        return [int(value) if value is not None else 0 for value in values]
