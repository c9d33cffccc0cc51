"""A Redis outage (issue 16, item 9): supplier calls go on in the documented local mode instead of
failing, the cluster stays within each contract, and the nodes go back to Redis when it answers.

Redis is ``memory_redis.MemoryRedis`` (``down = True`` is a stopped server: every round trip
raises redis-py's ConnectionError), on the virtual-time loop of ``test_search_rate_limit``. The
same is shown against a real redis-server in test_search_redis_outage.py."""

import asyncio

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from app.search.breaker import BreakerPolicy, Phase
from app.search.breaker_redis import RedisBreaker
from app.search.breaker_window import CallOutcome
from app.search.rate_limit import RateLimited, RedisRateLimiter, SupplierLimit
from app.search.redis_fallback import FallbackBreaker, RedisHealth, local_share
from app.search.rendezvous import Node
from tests.unit.search.memory_redis import MemoryRedis
from tests.unit.search.test_search_rate_limit import over_limit, run_virtual

NODES = [Node(f"app-{i}") for i in (1, 2, 3)]
CALLS, PER = 10, 1.0


@pytest.mark.parametrize(("calls", "nodes"), [(10, 3), (100, 7), (2, 3), (1, 5), (9, 3)])
def test_the_local_shares_add_up_to_the_contract(calls, nodes):
    members = [Node(f"n{i}") for i in range(nodes)]
    for supplier in ("fast", "limited", "x"):
        shares = [local_share(calls, supplier, n.name, members) for n in members]
        assert sum(shares) == calls and max(shares) - min(shares) <= 1
    with pytest.raises(ValueError, match="not among the nodes"):
        local_share(calls, "fast", "stranger", members)


def test_redis_health_probes_at_most_once_per_interval():
    now = [0.0]
    health = RedisHealth(probe_interval=1.0, clock=lambda: now[0])
    assert health.should_try() and not health.local
    health.failed(RedisConnectionError("down"))
    assert health.local and not health.should_try(), "local mode: no Redis call before the next probe"
    now[0] = 1.0
    assert health.should_try() and not health.should_try(), "one caller probes, the others stay local"
    assert health.succeeded() and not health.local and health.recovered_at == 1.0
    assert health.describe() == {"mode": "shared", "local_for_seconds": None, "outages": 1}


def run_outage(nodes_of):
    """Three nodes calling one supplier (10 per second) as fast as they may for 9 s: Redis is
    down from 2 s to 6 s. ``nodes_of(name)`` is the membership a node splits the contract over."""
    admitted: dict[str, list[float]] = {n.name: [] for n in NODES}
    modes: list[tuple[float, bool]] = []

    async def main():
        loop = asyncio.get_running_loop()
        redis = MemoryRedis(clock=loop.time)
        start = loop.time()
        limiters = {
            n.name: RedisRateLimiter(
                redis,
                {"s": SupplierLimit(CALLS, PER)},
                clock=loop.time,
                health=RedisHealth(probe_interval=0.5, clock=loop.time),
                node=n.name,
                nodes=nodes_of(n.name),
            )
            for n in NODES
        }

        async def node(name: str) -> None:
            limiter = limiters[name]
            while loop.time() - start < 9:
                try:
                    await limiter.acquire("s", timeout=0.2)
                except RateLimited:
                    await asyncio.sleep(0.05)  # a search that gave up; the next comes soon
                    continue
                admitted[name].append(loop.time() - start)
                await asyncio.sleep(0.01)

        async def outage() -> None:
            await asyncio.sleep(2)
            redis.down = True
            await asyncio.sleep(4)
            redis.down = False

        async def watch() -> None:
            while loop.time() - start < 9:
                modes.append((loop.time() - start, limiters["app-1"]._health.local))
                await asyncio.sleep(0.1)

        await asyncio.gather(outage(), watch(), *(node(n.name) for n in NODES))

    run_virtual(main)
    return admitted, modes


def test_a_redis_outage_degrades_to_each_nodes_share_and_never_overruns_the_contract():
    admitted, modes = run_outage(lambda _name: NODES)
    every = sorted(t for times in admitted.values() for t in times)
    assert over_limit(every, CALLS, PER) == 0, "the cluster never exceeded 10 calls in any second"
    during = [t for t in every if 2 <= t < 6]
    assert not [t for t in during if t < 2 + PER * 1.05 - 0.01], "no local call in the window after the outage began"
    assert len(during) >= 0.9 * CALLS * (4 - 1.05 - 1), "the nodes' shares use the contract while Redis is down"
    assert sorted(len([t for t in times if 4 <= t < 6]) for times in admitted.values()) == [6, 6, 8], (
        "each node its share (3, 3 and 4 per second)"
    )
    assert any(local for t, local in modes if 2 < t < 6) and not any(local for t, local in modes if t > 7)
    assert [t for t in every if t > 7], "back in shared mode after Redis returned"


def test_known_bad_nodes_that_each_take_the_whole_contract_locally_overrun_it():
    admitted, _ = run_outage(lambda name: [Node(name)])  # each node believes it is alone
    every = sorted(t for times in admitted.values() for t in times)
    assert over_limit(every, CALLS, PER) > 0, "the checker catches a fallback that is not split"


def test_without_a_fallback_every_call_fails_while_redis_is_down():
    async def main():
        redis = MemoryRedis()
        limiter = RedisRateLimiter(redis, {"s": SupplierLimit(CALLS, PER)})
        redis.down = True
        await limiter.acquire("s", timeout=0.1)

    with pytest.raises(RedisConnectionError):
        asyncio.run(main())


def breaker_pair(now):
    redis = MemoryRedis(clock=lambda: now[0])
    health = RedisHealth(probe_interval=1.0, clock=lambda: now[0])
    policy = BreakerPolicy(min_calls=4, window=60, unavailable_window=10, base_open=300)
    shared = RedisBreaker(redis, "s", policy, clock=lambda: now[0])
    return redis, health, FallbackBreaker(shared, health, clock=lambda: now[0])


def test_the_breaker_goes_local_on_an_outage_trips_on_its_own_outcomes_and_goes_back():
    now = [1_000.0]
    redis, health, breaker = breaker_pair(now)

    async def main():
        assert await breaker.allow()
        redis.down = True
        assert await breaker.allow(), "Redis down: the local breaker (closed) admits instead of failing"
        assert health.local
        for _ in range(4):
            await breaker.record_call(CallOutcome.TIMEOUT)
        assert (await breaker.snapshot()).phase is Phase.OPEN, "the supplier's timeouts trip the local breaker"
        assert not await breaker.allow()
        redis.down = False
        now[0] += 2
        await breaker.allow()
        assert not health.local, "a probe found Redis: shared mode again"
        assert (await breaker.snapshot()).phase is Phase.CLOSED, "the shared breaker saw none of it (Redis was down)"

    asyncio.run(main())


def test_a_breaker_open_in_redis_stays_open_locally_when_redis_goes():
    now = [1_000.0]
    redis, _, breaker = breaker_pair(now)

    async def main():
        for _ in range(4):
            await breaker.shared.record_call(CallOutcome.ERROR)  # another node tripped it
        assert not await breaker.allow()
        redis.down = True
        now[0] += 1
        assert not await breaker.allow(), "local mode starts from the shared state: still open"
        assert breaker.local_state().phase is Phase.OPEN

    asyncio.run(main())


def test_local_calls_are_handed_over_even_when_a_breaker_found_redis_back_first():
    async def main():
        loop = asyncio.get_running_loop()
        redis = MemoryRedis(clock=loop.time)
        health = RedisHealth(probe_interval=0.5, clock=loop.time)
        limiter = RedisRateLimiter(redis, {"s": SupplierLimit(CALLS, PER)}, clock=loop.time, health=health,
                                   node="app-1", nodes=NODES)  # fmt: skip
        redis.down = True
        await limiter.acquire("s", timeout=2)  # local, after the hold-off
        await limiter.acquire("s", timeout=2)
        redis.down = False
        await asyncio.sleep(0.5)
        assert health.succeeded(), "another part of the node (a breaker's probe) found Redis first"
        await limiter.acquire("s", timeout=1)
        return len(redis.zsets[limiter.key("s")])

    assert run_virtual(main) == 3, "the two local calls were handed over, then the shared one"
