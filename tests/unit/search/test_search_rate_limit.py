"""The rate limiter in virtual time: a proportional safety margin, waiting for the next slot
instead of dropping, and the batch with the most misses first.

Redis is ``memory_redis.MemoryRedis`` with its Python model of the sliding-log Lua script, on an
event loop whose clock jumps to the next timer, so 20 s of contract run in a moment."""

import asyncio
import random
import selectors
from bisect import bisect_left

import pytest

from app.search.rate_limit import RateLimited, RedisRateLimiter, SupplierLimit
from tests.unit.search.memory_redis import MemoryRedis


class VirtualSelector(selectors.SelectSelector):
    """Never blocks: a wait for the next timer moves the loop's clock there instead."""

    loop: "VirtualTimeLoop"

    def select(self, timeout=None):
        if timeout is None:
            raise RuntimeError("nothing scheduled and nothing ready: the test would hang")
        self.loop.now += max(0.0, timeout)
        return super().select(0)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self):
        selector = VirtualSelector()
        super().__init__(selector)
        selector.loop = self
        self.now = 1_000.0

    def time(self):
        return self.now


def run_virtual(main):
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(main())


def over_limit(arrivals, calls, per):
    """Calls the supplier would refuse: arrivals beyond ``calls`` in any ``per`` seconds."""
    arrivals = sorted(arrivals)
    return sum(1 for i, t in enumerate(arrivals) if i - bisect_left(arrivals, t - per + 1e-9) >= calls)


def test_the_margin_is_a_share_of_the_window():
    assert SupplierLimit(calls=100, per=1.0).window_micros == 1_050_000  # not 2 s
    assert SupplierLimit(calls=10, per=60.0).margin == 3.0
    assert SupplierLimit(calls=10, per=60.0, safety=1.0).window_micros == 61_000_000
    with pytest.raises(ValueError, match="safety_ratio"):
        SupplierLimit(calls=10, per=1.0, safety_ratio=0.9)
    assert SupplierLimit.from_config({"calls": 5, "per": "1m", "safety_ratio": 0.1}).margin == 6.0


def test_a_one_second_contract_is_used_at_90_percent_with_no_call_over_the_limit():
    calls, per, seconds = 100, 1.0, 20
    arrivals: list[float] = []
    refused = 0

    async def main():
        nonlocal refused
        loop = asyncio.get_running_loop()
        redis = MemoryRedis(clock=loop.time)
        limiter = RedisRateLimiter(redis, {"s": SupplierLimit(calls, per)}, clock=loop.time)
        rng = random.Random(16)

        async def batch(at):
            nonlocal refused
            await asyncio.sleep(at)
            try:
                await limiter.acquire("s", timeout=0.5, priority=rng.randint(1, 50))
            except RateLimited:
                refused += 1
                return
            # Admission to arrival at the supplier: 0-40 ms, within the 50 ms margin.
            arrivals.append(loop.time() + rng.uniform(0.0, 0.04))

        start = loop.time()
        # Demand 150 batches a second against a contract of 100.
        await asyncio.gather(*(batch(rng.uniform(0, seconds)) for _ in range(150 * seconds)))
        return start

    start = run_virtual(main)
    in_contract = [t for t in arrivals if t < start + seconds]
    used = len(in_contract) / (calls * seconds)
    print(f"contract used {used:.1%}, {refused} batches refused")
    assert over_limit(arrivals, calls, per) == 0
    assert used >= 0.9
    assert refused > 0  # demand exceeds the contract: the rest is refused once it cannot wait


def test_a_refused_call_waits_for_the_next_slot_when_its_deadline_allows():
    async def main():
        loop = asyncio.get_running_loop()
        limiter = RedisRateLimiter(
            MemoryRedis(clock=loop.time), {"s": SupplierLimit(2, 1.0, safety=0.0)}, clock=loop.time
        )
        await limiter.acquire("s", timeout=0)
        await limiter.acquire("s", timeout=0)
        started = loop.time()
        await limiter.acquire("s", timeout=1.5)  # the first slot frees 1 s after it was taken
        waited = loop.time() - started
        await limiter.acquire("s", timeout=0)  # the second slot freed at the same time
        with pytest.raises(RateLimited):
            await limiter.acquire("s", timeout=0.2)  # the next frees in ~1 s: not worth waiting for
        return waited

    assert 0.99 <= run_virtual(main) <= 1.01


def test_the_next_slot_goes_to_the_batch_with_the_most_misses():
    order = []

    async def main():
        loop = asyncio.get_running_loop()
        limiter = RedisRateLimiter(
            MemoryRedis(clock=loop.time), {"s": SupplierLimit(1, 1.0, safety=0.0)}, clock=loop.time
        )
        await limiter.acquire("s", timeout=0)

        async def wait(name, misses, delay):
            await asyncio.sleep(delay)
            await limiter.acquire("s", timeout=5, priority=misses)
            order.append(name)

        await asyncio.gather(wait("small", 2, 0.0), wait("large", 40, 0.1), wait("medium", 10, 0.2))

    run_virtual(main)
    assert order == ["large", "medium", "small"]
