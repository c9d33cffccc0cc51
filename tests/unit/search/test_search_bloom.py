"""Bloom filter sizing and its false-positive rate, measured on 1e6 probes of absent elements."""

import math

import pytest

from app.search.bloom import (
    BitArrayBloom,
    BloomParams,
    bitfield_get_args,
    bitfield_set_args,
    positions,
)
from app.search.negative_cache import BloomNegativeCache, NegativeCacheConfig, NegativeKey

TARGET_FPR = 1e-4
INSERTED = 100_000
PROBES = 1_000_000
AEROSPIKE_INDEX_BITS = 64 * 8


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
    first = positions(b"hotel|d3|7n|2a", params)
    assert first == positions(b"hotel|d3|7n|2a", params)
    assert len(first) == params.hashes
    assert all(0 <= p < params.bits for p in first)
    assert len(set(first)) >= params.hashes - 1
    assert first != positions(b"hotel|d3|7n|2a-5", params)


def test_measured_false_positive_rate_is_within_target():
    params = BloomParams.for_capacity(INSERTED, TARGET_FPR)
    bloom = BitArrayBloom(params)
    for i in range(INSERTED):
        bloom.add(NegativeKey("s", f"h{i}", i % 90, 1 + i % 14, "2a").element())
    # No false negatives.
    assert all(NegativeKey("s", f"h{i}", i % 90, 1 + i % 14, "2a").element() in bloom for i in range(0, INSERTED, 97))
    false_positives = sum(
        1 for i in range(PROBES) if NegativeKey("s", f"x{i}", i % 90, 1 + i % 14, "2a").element() in bloom
    )
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
    same_day = cache.bucket("s", 0, now=10_000.0)  # TTL 5 min -> 150 s buckets
    assert same_day.key == "bloom:neg:v1:s:t0:66"
    assert same_day.previous_key == "bloom:neg:v1:s:t0:65"
    assert same_day.expire_at == 68 * 150 + 60
    far = cache.bucket("s", 200, now=10_000.0)  # TTL 12 h -> 6 h buckets
    assert far.key == "bloom:neg:v1:s:t6:0"
