"""Concurrent misses for one key run one loader; failures reach every waiter."""

import asyncio

from app.common.singleflight import SingleFlight


def test_concurrent_callers_share_one_load():
    calls = []

    async def load():
        calls.append(1)
        await asyncio.sleep(0.01)
        return "value"

    async def main():
        flight = SingleFlight()
        return await asyncio.gather(*(flight.do("k", load) for _ in range(10)))

    assert asyncio.run(main()) == ["value"] * 10
    assert len(calls) == 1


def test_a_failed_load_fails_its_waiters_and_the_next_call_retries():
    attempts = []

    async def load():
        attempts.append(1)
        await asyncio.sleep(0.01)
        if len(attempts) == 1:
            raise RuntimeError("database down")
        return "ok"

    async def main():
        flight = SingleFlight()
        first = await asyncio.gather(*(flight.do("k", load) for _ in range(3)), return_exceptions=True)
        return first, await flight.do("k", load)

    first, second = asyncio.run(main())
    assert all(isinstance(r, RuntimeError) for r in first)
    assert second == "ok"


def test_different_keys_load_separately():
    async def value(x):
        return x

    async def main():
        flight = SingleFlight()
        return await asyncio.gather(flight.do("a", lambda: value("a")), flight.do("b", lambda: value("b")))

    assert asyncio.run(main()) == ["a", "b"]
