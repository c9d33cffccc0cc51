"""The Redis-backed parts of the search against the lab's Redis, found through Sentinel: Bloom
negative cache, cluster-wide rate limit, shared breaker state, the Redis offer store."""

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

from app.search.breaker import BreakerPolicy, Phase, TripReason
from app.search.breaker_redis import RedisBreaker
from app.search.breaker_window import CallOutcome
from app.search.cache_key import OfferKey
from app.search.models import HotelAnswer, Offer
from app.search.negative_cache import BloomNegativeCache, NegativeCacheConfig, NegativeKey
from app.search.offer_store import OfferRecord
from app.search.offer_store.redis_store import RedisOfferStore
from app.search.rate_limit import RedisRateLimiter, SupplierLimit
from app.search.redis_client import connect


def prefix() -> str:
    return f"labtest:{uuid.uuid4().hex[:8]}:"


def test_bloom_negative_cache_round_trip(redis_run):
    async def check(redis):
        cache = BloomNegativeCache(redis, NegativeCacheConfig(capacity=10_000, key_prefix=prefix() + "bloom"))
        checkin = datetime.now(UTC).date() + timedelta(days=30)
        added = [NegativeKey("fast", f"h{i}", checkin, 3, "2a") for i in range(500)]
        absent = [NegativeKey("fast", f"h{i}", checkin, 3, "2a") for i in range(500, 1500)]
        await cache.add_many(added)
        found = await cache.contains_many(added)
        false_positives = sum(await cache.contains_many(absent))
        other_stay = await cache.contains_many([k._replace(nights=4) for k in added[:50]])
        shard = cache._bloom.shard_key(cache.bucket("fast", checkin).key, added[0].element())
        ttl = min(await redis.ttl(f"{shard}:n"), await redis.ttl(f"{shard}:g0"))
        return found, false_positives, other_stay, ttl, cache.params.bits_per_key

    found, false_positives, other_stay, ttl, bits_per_key = redis_run(check)
    assert all(found), "every added 'unavailable' answer is found again"
    assert false_positives <= 1, f"{false_positives} of 1000 absent keys reported present"
    assert sum(other_stay) <= 1, "a 4-night stay is not the 3-night stay that was unavailable"
    assert ttl > 0, "filters expire by time bucket"
    assert bits_per_key <= 23


def test_rate_limit_holds_cluster_wide_under_concurrency(search_settings):
    """Three 'nodes' (own clients, own limiters) race for one supplier's slots: exactly the limit wins."""
    key_prefix = prefix() + "ratelimit"

    async def race():
        clients = [connect(search_settings.redis_settings()) for _ in range(3)]
        limit = {"turkey-direct": SupplierLimit(calls=10, per=5.0, safety=0.0)}
        limiters = [RedisRateLimiter(c, limit, prefix=key_prefix) for c in clients]
        try:
            decisions = await asyncio.gather(*(limiters[i % 3].try_acquire("turkey-direct") for i in range(90)))
            used = await limiters[0].used("turkey-direct")
        finally:
            for c in clients:
                await c.aclose()
        return decisions, used

    decisions, used = asyncio.run(race())
    admitted = [d for d in decisions if d.allowed]
    assert len(admitted) == 10, f"{len(admitted)} of 90 concurrent calls admitted for a limit of 10"
    assert used == 10
    assert all(0 < d.retry_after <= 5.0 for d in decisions if not d.allowed)


def test_breaker_state_is_shared_between_nodes(search_settings):
    key_prefix = prefix() + "breaker"
    policy = BreakerPolicy(min_calls=5, time_scale=0.01)

    async def trip_on_one_node():
        one, two = connect(search_settings.redis_settings()), connect(search_settings.redis_settings())
        try:
            node1 = RedisBreaker(one, "flaky", policy, prefix=key_prefix)
            node2 = RedisBreaker(two, "flaky", policy, prefix=key_prefix)
            assert await node2.allow()
            for _ in range(5):
                await node1.record_call(CallOutcome.ERROR)
            return await node2.state(), await node2.allow()
        finally:
            await one.aclose()
            await two.aclose()

    state, allowed = asyncio.run(trip_on_one_node())
    assert state.phase is Phase.OPEN and state.reason is TripReason.ERROR_RATE
    assert not allowed, "the other node refuses calls to a supplier one node switched off"


def test_redis_offer_store_round_trip(redis_run):
    now = datetime.now(UTC)
    key = OfferKey("fast", "h-store-1", date(2030, 6, 1), 7, "2a-5")
    missing = key._replace(hotel_id="h-store-2")
    answer = HotelAnswer(
        supplier="fast",
        hotel_id="h-store-1",
        fetched_at=now,
        offers=(Offer(offer_id="fast.x1", room="Standard", board="BB", price_minor=12345, currency="EUR"),),
    )

    async def round_trip(redis):
        store = RedisOfferStore(redis, prefix=prefix())
        await store.put_many([OfferRecord(key, answer, 120)])
        got = await store.get_many([key, missing])
        ttl = await redis.ttl(store._key(key))
        return got, ttl

    got, ttl = redis_run(round_trip)
    assert got == [answer, None]
    assert 0 < ttl <= 120, "every record carries its own TTL"
