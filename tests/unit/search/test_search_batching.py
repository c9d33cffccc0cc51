"""The coalescer merges concurrent searches into one supplier call (pure asyncio logic)."""

import asyncio

import pytest

from app.search.batching import Coalescer, MissingFromBatch


class FakeSupplier:
    def __init__(self, delay: float = 0.0, fail: bool = False) -> None:
        self.calls: list[tuple[str, tuple[str, ...]]] = []
        self.delay = delay
        self.fail = fail

    async def __call__(self, key, hotels):
        self.calls.append((key, hotels))
        await asyncio.sleep(self.delay)
        if self.fail:
            raise ConnectionError("supplier down")
        return {hotel: f"{key}/{hotel}" for hotel in hotels if not hotel.startswith("missing")}


def run(coro):
    return asyncio.run(coro)


def test_concurrent_requests_for_different_hotels_become_one_call():
    supplier = FakeSupplier()

    async def main():
        coalescer = Coalescer(supplier, max_wait=0.01, max_batch=50)
        return await asyncio.gather(*(coalescer.get("s:2030-05-01:7n:2a", f"h{i}") for i in range(20)))

    answers = run(main())
    assert answers == [f"s:2030-05-01:7n:2a/h{i}" for i in range(20)]
    assert len(supplier.calls) == 1
    assert len(supplier.calls[0][1]) == 20


def test_different_keys_are_never_merged():
    supplier = FakeSupplier()

    async def main():
        coalescer = Coalescer(supplier, max_wait=0.01, max_batch=50)
        await asyncio.gather(coalescer.get("a", "h1"), coalescer.get("b", "h1"), coalescer.get("a", "h2"))

    run(main())
    assert sorted(supplier.calls) == [("a", ("h1", "h2")), ("b", ("h1",))]


def test_identical_requests_share_one_call_while_buffered_and_in_flight():
    supplier = FakeSupplier(delay=0.05)

    async def main():
        coalescer = Coalescer(supplier, max_wait=0.01, max_batch=50)
        first = [asyncio.create_task(coalescer.get("k", "h1")) for _ in range(5)]
        await asyncio.sleep(0.03)  # the call is in flight now
        late = asyncio.create_task(coalescer.get("k", "h1"))
        results = await asyncio.gather(*first, late)
        return results, coalescer.stats

    results, stats = run(main())
    assert results == ["k/h1"] * 6
    assert len(supplier.calls) == 1
    assert supplier.calls[0][1] == ("h1",)
    assert stats.shared == 5
    assert stats.requests == 6


def test_max_batch_flushes_early_and_splits():
    supplier = FakeSupplier()

    async def main():
        coalescer = Coalescer(supplier, max_wait=10.0, max_batch=4)  # only size can flush in time
        return await asyncio.wait_for(asyncio.gather(*(coalescer.get("k", f"h{i}") for i in range(8))), 1.0)

    run(main())
    assert [len(hotels) for _, hotels in supplier.calls] == [4, 4]


def test_max_wait_bounds_the_delay_of_a_lone_request():
    supplier = FakeSupplier()

    async def main():
        coalescer = Coalescer(supplier, max_wait=0.02, max_batch=100)
        loop = asyncio.get_running_loop()
        start = loop.time()
        await coalescer.get("k", "h1")
        return loop.time() - start

    elapsed = run(main())
    assert 0.015 <= elapsed < 0.5


def test_a_failed_call_fails_every_waiter_and_is_not_cached():
    supplier = FakeSupplier(fail=True)

    async def main():
        coalescer = Coalescer(supplier, max_wait=0.0, max_batch=10)
        results = await asyncio.gather(coalescer.get("k", "h1"), coalescer.get("k", "h2"), return_exceptions=True)
        supplier.fail = False
        again = await coalescer.get("k", "h1")
        return results, again, coalescer.pending()

    results, again, pending = run(main())
    assert all(isinstance(r, ConnectionError) for r in results)
    assert again == "k/h1"
    assert pending == 0
    assert len(supplier.calls) == 2


def test_an_item_missing_from_the_answer_fails_alone():
    supplier = FakeSupplier()

    async def main():
        coalescer = Coalescer(supplier, max_wait=0.0, max_batch=10)
        return await asyncio.gather(coalescer.get("k", "h1"), coalescer.get("k", "missing-1"), return_exceptions=True)

    ok, missing = run(main())
    assert ok == "k/h1"
    assert isinstance(missing, MissingFromBatch)


def test_a_cancelled_waiter_does_not_cancel_the_shared_call():
    supplier = FakeSupplier(delay=0.03)

    async def main():
        coalescer = Coalescer(supplier, max_wait=0.0, max_batch=10)
        impatient = asyncio.create_task(coalescer.get("k", "h1"))
        patient = asyncio.create_task(coalescer.get("k", "h1"))
        await asyncio.sleep(0.01)
        impatient.cancel()
        return await patient

    assert run(main()) == "k/h1"
    assert len(supplier.calls) == 1


def test_drain_sends_open_buffers():
    supplier = FakeSupplier()

    async def main():
        coalescer = Coalescer(supplier, max_wait=60.0, max_batch=100)
        task = asyncio.create_task(coalescer.get("k", "h1"))
        await asyncio.sleep(0)
        await coalescer.drain()
        return await task

    assert run(main()) == "k/h1"


def test_bad_settings():
    with pytest.raises(ValueError, match="max_batch >= 1"):
        Coalescer(FakeSupplier(), max_wait=0.01, max_batch=0)
