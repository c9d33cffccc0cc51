"""Bloom filter sizing and its false-positive rate, measured on 1e6 probes of absent elements;
the scalable, sharded negative cache past its capacity and across midnight."""

import asyncio
import math
from datetime import UTC, date, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry

from app.search.bloom import (
    BitArrayBloom,
    BloomParams,
    ScalablePlan,
    bitfield_get_args,
    bitfield_set_args,
    positions,
)
from app.search.metrics import SearchMetrics
from app.search.negative_cache import BloomNegativeCache, NegativeCacheConfig, NegativeKey
from tests.unit.search.memory_redis import MemoryRedis

TARGET_FPR = 1e-4
INSERTED = 100_000
PROBES = 1_000_000
AEROSPIKE_INDEX_BITS = 64 * 8
CHECKIN = date(2030, 6, 1)


def element(prefix: str, i: int) -> bytes:
    return NegativeKey("s", f"{prefix}{i}", CHECKIN + timedelta(i % 90), 1 + i % 14, "2a").element()


def test_sizing_follows_the_formulas():
    params = BloomParams.for_capacity(INSERTED, TARGET_FPR, margin=1.0)
    expected_m = math.ceil(-INSERTED * math.log(TARGET_FPR) / math.log(2) ** 2)
    assert params.bits == expected_m
    assert params.hashes == round(expected_m / INSERTED * math.log(2)) == 13
    assert params.expected_fpr() == pytest.approx(TARGET_FPR, rel=0.05)
    assert params.bits_per_key == pytest.approx(19.17, abs=0.01)


def test_default_sizing_keeps_headroom_under_the_target_and_21_bits_per_key():
    params = BloomParams.for_capacity(INSERTED)
    assert params.expected_fpr() == pytest.approx(TARGET_FPR / 2, rel=0.01)
    assert params.bits_per_key <= 21
    assert params.bits_per_key < AEROSPIKE_INDEX_BITS / 24


def test_positions_are_pure_distinct_enough_and_in_range():
    params = BloomParams.for_capacity(1000)
    first = positions(b"hotel|2030-06-01|7n|2a", params)
    assert first == positions(b"hotel|2030-06-01|7n|2a", params)
    assert len(first) == params.hashes
    assert all(0 <= p < params.bits for p in first)
    assert len(set(first)) >= params.hashes - 1
    assert first != positions(b"hotel|2030-06-01|7n|2a-5", params)


def test_measured_false_positive_rate_is_within_target():
    params = BloomParams.for_capacity(INSERTED, TARGET_FPR)
    bloom = BitArrayBloom(params)
    for i in range(INSERTED):
        bloom.add(element("h", i))
    # No false negatives.
    assert all(element("h", i) in bloom for i in range(0, INSERTED, 97))
    false_positives = sum(1 for i in range(PROBES) if element("x", i) in bloom)
    measured = false_positives / PROBES
    print(f"bloom: {params.bits_per_key:.2f} bits/key, k={params.hashes}, measured FPR {measured:.2e}")
    assert measured <= TARGET_FPR
    assert bloom.fill_ratio() == pytest.approx(0.5, abs=0.02)  # an optimally loaded filter is half set


def test_bit_layout_matches_redis_setbit():
    # Redis numbers bit 0 as the most significant bit of byte 0.
    params = BloomParams(bits=16, hashes=1, capacity=1)
    bloom = BitArrayBloom(params)
    element = next(e for e in (b"%d" % i for i in range(100)) if positions(e, params) == [9])
    bloom.add(element)
    assert bloom.to_bytes() == bytes([0b00000000, 0b01000000])


def test_bitfield_arguments():
    assert bitfield_set_args([3, 7]) == ["SET", "u1", 3, 1, "SET", "u1", 7, 1]
    assert bitfield_get_args([3]) == ["GET", "u1", 3]


def test_sizes_are_checked():
    with pytest.raises(ValueError, match="capacity must be >= 1"):
        BloomParams.for_capacity(0)
    with pytest.raises(ValueError, match="bits"):
        BloomParams(bits=2**33, hashes=3, capacity=10)


def test_negative_cache_buckets_follow_the_ttl_table():
    cache = BloomNegativeCache(redis=None, config=NegativeCacheConfig(capacity=1000), clock=lambda: 0.0)
    today = datetime.fromtimestamp(10_000.0, UTC).date()
    same_day = cache.bucket("s", today, now=10_000.0)  # TTL 5 min -> 150 s buckets
    assert same_day.key == "bloom:neg:v2:s:e0:t0:66"
    assert same_day.previous_key == "bloom:neg:v2:s:e0:t0:65"
    assert same_day.expire_at == 68 * 150 + 60
    far = cache.bucket("s", today + timedelta(200), now=10_000.0, epoch=3)  # TTL 12 h -> 6 h buckets
    assert far.key == "bloom:neg:v2:s:e3:t6:0"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def negatives(prefix: str, count: int, start: int = 0) -> list[NegativeKey]:
    return [NegativeKey("big", f"{prefix}{i}", CHECKIN, 1 + i % 14, "2a") for i in range(start, start + count)]


def test_scalable_plan_keeps_the_lookup_rate_under_its_bound_at_any_load():
    plan = ScalablePlan(capacity=1000, fpr=1e-3)
    assert plan.in_use(0) == 0 and plan.in_use(1000) == 1 and plan.in_use(1001) == 2
    assert plan.filled(3500) == [1000, 2000, 500]
    for inserted in (1000, 3000, 10_000, 100_000, 1_000_000):
        assert plan.expected_fpr(inserted) < 1e-3
    assert plan.generation(sum(p.capacity for p in plan.generations) + 1) is None  # all full: not added
    with pytest.raises(ValueError, match="tightening"):
        ScalablePlan(capacity=1000, fpr=1e-3, tightening=1.0)


def test_a_filter_driven_five_times_past_its_capacity_keeps_its_measured_fpr_within_the_target():
    target, capacity = 1e-3, 2000
    redis = MemoryRedis()
    now = datetime(2030, 5, 1, 12, tzinfo=UTC).timestamp()
    config = NegativeCacheConfig(capacity=capacity, target_fpr=target, shards=4)
    cache = BloomNegativeCache(redis, config, clock=Clock(now))
    added = negatives("h", 5 * capacity)
    absent = negatives("x", 100_000)

    async def drive():
        for start in range(0, len(added), 500):
            await cache.add_many(added[start : start + 500])
        return await cache.contains_many(added), await cache.contains_many(absent), await cache.fill(["big"])

    found, false_hits, fill = asyncio.run(drive())
    measured = sum(false_hits) / len(absent)
    # A fixed filter of this size would be ~60 % false positives at 5x (today's saturation).
    saturated = BloomParams.for_capacity(capacity, target).expected_fpr(5 * capacity)
    print(f"5x capacity: measured FPR {measured:.2e} (target {target:.0e}; a fixed filter: {saturated:.0%})")
    assert all(found), "no false negatives"
    assert measured <= target
    assert saturated > 0.5
    band = next(f for f in fill if f.insertions)
    assert band.insertions == 5 * capacity  # every insertion is counted
    assert 0 < band.fill_ratio <= 0.5 and band.estimated_fpr <= target / 2  # the previous bucket is empty


def test_each_filter_is_sharded_over_several_keys():
    redis = MemoryRedis()
    cache = BloomNegativeCache(redis, NegativeCacheConfig(capacity=8000, shards=8), clock=Clock(1e9))
    asyncio.run(cache.add_many(negatives("h", 4000)))
    counters = {key: int(value) for key, value in redis.data.items() if key.endswith(":n")}
    assert len(counters) == 8
    assert max(counters.values()) < 4000 / 8 * 1.25, "no shard takes much more than its share"
    assert all(key in redis.expire_at for key in redis.data), "every key expires with its bucket"


def test_an_unavailable_learnt_before_midnight_does_not_answer_for_the_next_checkin():
    checkin = date(2030, 6, 4)
    clock = Clock(datetime(2030, 6, 1, 23, 59, tzinfo=UTC).timestamp())  # 3 days before check-in
    cache = BloomNegativeCache(MemoryRedis(), NegativeCacheConfig(capacity=1000), clock=clock)
    learnt = NegativeKey("s", "h1", checkin, 7, "2a")

    async def across_midnight():
        await cache.add_many([learnt])
        clock.now += 120  # 00:01: check-in + 1 day is now 3 days ahead, as the learnt one was
        return await cache.contains_many([learnt, learnt._replace(checkin=checkin + timedelta(1))])

    same_checkin, next_checkin = asyncio.run(across_midnight())
    assert same_checkin, "the answer for the check-in it was given for still holds"
    assert not next_checkin, "the next check-in was never asked about"


def test_forgetting_a_supplier_moves_it_to_an_empty_epoch_once_per_episode():
    redis = MemoryRedis()
    clock = Clock(1e9)
    node1 = BloomNegativeCache(redis, NegativeCacheConfig(capacity=1000), clock=clock)
    node2 = BloomNegativeCache(redis, NegativeCacheConfig(capacity=1000), clock=clock)
    keys = negatives("h", 20)

    async def episode():
        await node1.add_many(keys)
        await node1.forget("big", "episode-1")
        await node2.forget("big", "episode-1")  # the same episode seen by another node
        clock.now += 1.0  # node2 re-reads the epoch
        return await node1.contains_many(keys), await node2.contains_many(keys), redis.data[node1._epoch_key("big")]

    mine, theirs, epoch = asyncio.run(episode())
    assert not any(mine) and not any(theirs)
    assert epoch == b"1"


def test_fill_and_estimated_fpr_are_exported_per_supplier_and_band():
    redis, registry = MemoryRedis(), CollectorRegistry()
    cache = BloomNegativeCache(redis, NegativeCacheConfig(capacity=1000, shards=2), clock=Clock(1e9))
    asyncio.run(cache.add_many(negatives("h", 3000)))  # three times the capacity
    fills = asyncio.run(cache.fill(["big"]))
    SearchMetrics(registry).export_negative_cache(fills, cache.config.target_fpr)
    band = str(next(f.band for f in fills if f.insertions))
    labels = {"supplier": "big", "band": band}
    assert registry.get_sample_value("search_negative_cache_insertions", labels) == 3000
    assert 0 < registry.get_sample_value("search_negative_cache_estimated_fpr", labels) < 1e-4
    assert 0 < registry.get_sample_value("search_negative_cache_fill_ratio", labels) <= 0.5
    assert registry.get_sample_value("search_negative_cache_target_fpr") == 1e-4
