"""Search end to end in process: cache, negative cache, coalesced supplier calls, breaker skips.

Every dependency is an in-memory fake with the same interface as its Redis/HTTP implementation.
"""

import asyncio
from datetime import UTC, date, datetime

from app.search.booking import BookingService
from app.search.breaker import BreakerPolicy, CircuitBreaker, Phase, TripReason, hides_offers
from app.search.cache_key import OfferKey, parse_occupancy
from app.search.fetcher import SupplierFetcher
from app.search.models import HotelAnswer, Offer, PriceSource, SearchRequest
from app.search.negative_cache import BloomNegativeCache, NegativeCacheConfig, NegativeKey
from app.search.offer_store import OfferStore
from app.search.service import SearchService
from app.search.supplier_client import SupplierTimeout
from app.search.ttl import TtlTable
from tests.unit.search.memory_redis import MemoryRedis

NOW = datetime(2030, 5, 1, 12, tzinfo=UTC).timestamp()
HOTELS = [f"h{i}" for i in range(10)]


class MemoryStore(OfferStore):
    name = "memory"

    def __init__(self):
        self.data = {}

    @classmethod
    def from_config(cls, options):
        return cls()

    async def get_many(self, keys):
        return [self.data.get(key.render()) for key in keys]

    async def put_many(self, records):
        for record in records:
            self.data[record.key.render()] = record.answer

    async def evict(self, keys):
        for key in keys:
            self.data.pop(key.render(), None)


class MemoryNegative:
    def __init__(self):
        self.keys = set()

    async def add_many(self, keys):
        self.keys.update(keys)

    async def contains_many(self, keys):
        return [key in self.keys for key in keys]

    async def forget(self, supplier, episode):
        self.keys = {key for key in self.keys if key.supplier != supplier}


class AsyncBreaker:
    def __init__(self, supplier, clock, policy=None):
        self.inner = CircuitBreaker(supplier, policy or BreakerPolicy(min_calls=2), clock=clock)

    async def allow(self):
        return self.inner.allow()

    async def record_call(self, outcome, available=0, unavailable=0):
        self.inner.record_call(outcome, available, unavailable)

    async def snapshot(self):
        return self.inner.snapshot()

    async def record_booking(self, ok):
        self.inner.record_booking(ok)


class NoLimit:
    async def acquire(self, supplier, *, timeout, cost=1, priority=0):
        return None


class FakeSuppliers:
    def __init__(self):
        self.calls = []
        self.down = set()
        self.switched_off = set()  # suppliers answering every hotel "unavailable"
        self.refusing = set()  # suppliers refusing every booking

    async def search(self, supplier, hotel_ids, checkin, nights, occupancy):
        self.calls.append((supplier, tuple(hotel_ids)))
        await asyncio.sleep(0)
        if supplier in self.down:
            raise SupplierTimeout(f"{supplier}: no answer")
        price = {"a": 100, "b": 90}[supplier]
        return {
            hotel: HotelAnswer(
                supplier=supplier,
                hotel_id=hotel,
                fetched_at=datetime.fromtimestamp(NOW, UTC),
                offers=()
                if int(hotel[1:]) % 2 or supplier in self.switched_off
                else (
                    Offer(
                        offer_id=f"{supplier}{hotel}",
                        room="Std",
                        board="RO",
                        price_minor=price,
                        currency="EUR",
                    ),
                ),
            )
            for hotel in hotel_ids
        }

    async def book(self, supplier, offer_id, hotel_id):
        return supplier not in self.refusing


def build():
    clock = lambda: NOW  # noqa: E731
    suppliers = FakeSuppliers()
    store, negative = MemoryStore(), MemoryNegative()
    breakers = {name: AsyncBreaker(name, clock) for name in ("a", "b")}
    fetcher = SupplierFetcher(
        supplier=suppliers,
        breakers=breakers,
        limiter=NoLimit(),
        store=store,
        negative=negative,
        ttl=TtlTable.default(),
        max_wait=0.01,
        clock=clock,
    )

    async def offers_hidden(names):
        return {name for name in names if hides_offers(breakers[name].inner.state)}

    service = SearchService(
        suppliers=("a", "b"),
        store=store,
        negative=negative,
        fetch=fetcher.fetch,
        offers_hidden=offers_hidden,
        clock=clock,
    )
    return service, suppliers, breakers


def request(hotels=HOTELS):
    return SearchRequest.model_validate(
        {"hotel_ids": hotels, "checkin": "2030-06-01", "nights": 7, "occupancy": {"rooms": [{"adults": 2}]}},
        context={"today": date(2030, 5, 1)},
    )


def test_first_search_asks_each_supplier_once_then_everything_comes_from_caches():
    service, suppliers, _ = build()

    async def main():
        first = await service.search(request())
        calls_after_first = len(suppliers.calls)
        second = await service.search(request())
        return first, calls_after_first, second

    first, calls_after_first, second = asyncio.run(main())
    assert calls_after_first == 2  # one batch call per supplier for all 10 hotels
    assert sorted(len(hotels) for _, hotels in suppliers.calls) == [10, 10]
    assert len(suppliers.calls) == 2  # the second search asked nobody: offers cached, "unavailable" in Bloom
    by_hotel = {h.hotel_id: h for h in first.hotels}
    assert by_hotel["h0"].supplier == "b"
    assert by_hotel["h0"].offer.price_minor == 90
    assert by_hotel["h0"].source is PriceSource.SUPPLIER
    assert by_hotel["h1"].offer is None
    assert set(by_hotel["h1"].suppliers_unavailable) == {"a", "b"}
    again = {h.hotel_id: h for h in second.hotels}
    assert again["h0"].source is PriceSource.CACHE
    assert again["h0"].age_seconds == 0.0


def test_concurrent_searches_for_different_hotels_share_supplier_calls():
    service, suppliers, _ = build()

    async def main():
        await asyncio.gather(*(service.search(request([hotel])) for hotel in HOTELS))

    asyncio.run(main())
    assert len(suppliers.calls) == 2


def test_a_failing_supplier_is_skipped_and_its_breaker_opens():
    service, suppliers, breakers = build()
    suppliers.down.add("b")

    async def main():
        first = await service.search(request(["h0"]))
        second = await service.search(request(["h2"]))
        third = await service.search(request(["h4"]))
        return first, second, third

    first, second, third = asyncio.run(main())
    assert second.hotels[0].suppliers_skipped == ("b",)
    assert first.hotels[0].supplier == "a"
    assert first.hotels[0].suppliers_skipped == ("b",)
    assert breakers["b"].inner.state.phase is Phase.OPEN  # two timeouts of two calls
    assert third.hotels[0].suppliers_skipped == ("b",)
    assert [s for s, _ in suppliers.calls].count("b") == 2  # the open breaker kept the third call away


def test_occupancy_round_trips_through_its_canonical_text():
    occupancy = parse_occupancy("1a+2a-4-9")
    assert [(r.adults, r.children_ages) for r in occupancy.rooms] == [(1, ()), (2, (4, 9))]


class MutableClock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def test_an_all_unavailable_episode_trips_within_seconds_and_its_negative_entries_are_dropped():
    clock = MutableClock(NOW)
    suppliers = FakeSuppliers()
    negative = BloomNegativeCache(MemoryRedis(), NegativeCacheConfig(capacity=1000), clock=clock)
    breakers = {"a": AsyncBreaker("a", clock, BreakerPolicy())}  # 50 answers, 95 %, 10 s
    fetcher = SupplierFetcher(
        supplier=suppliers,
        breakers=breakers,
        limiter=NoLimit(),
        store=MemoryStore(),
        negative=negative,
        ttl=TtlTable.default(),
        max_wait=0.0,
        clock=clock,
    )
    numbers = iter(range(10_000))

    async def one_second():
        keys = [OfferKey("a", f"h{next(numbers)}", date(2030, 6, 1), 7, "2a") for _ in range(10)]
        await asyncio.gather(*(fetcher.fetch(key) for key in keys), return_exceptions=True)
        clock.now += 1
        return keys

    async def episode():
        for _ in range(50):
            await one_second()
        suppliers.switched_off.add("a")
        started, written = clock.now, []
        while breakers["a"].inner.state.phase is Phase.CLOSED and clock.now - started < 60:
            written += await one_second()
        negatives = [NegativeKey(k.supplier, k.hotel_id, k.checkin, k.nights, k.occupancy) for k in written]
        return clock.now - started, await negative.contains_many(negatives)

    took, still_believed = asyncio.run(episode())
    assert breakers["a"].inner.state.reason is TripReason.ALL_UNAVAILABLE
    assert took <= 12, f"tripped after {took:.0f} s"
    assert not any(still_believed), "the episode's 'unavailable' answers no longer hide the supplier's offers"


class NoLooks:
    async def record_booking(self, supplier):
        return None


def test_a_tripped_booking_breaker_hides_the_suppliers_cached_offers():
    service, suppliers, breakers = build()

    async def main():
        first = await service.search(request(["h0"]))  # b is cheaper: its offer is cached now
        booking = BookingService(suppliers=suppliers, breakers=breakers, store=service._store, looks=NoLooks())
        suppliers.refusing.add("b")
        for _ in range(5):  # the offers b shows do not book
            await booking.book("b", "h0", "bh0")
        return first, await service.search(request(["h0"]))

    first, after = asyncio.run(main())
    assert first.hotels[0].supplier == "b"
    assert breakers["b"].inner.state.reason is TripReason.BOOKING_FAILURES
    assert after.hotels[0].supplier == "a", "b's cached offer is not shown while its bookings fail"
    assert after.hotels[0].suppliers_skipped == ("b",)


def test_a_refused_booking_evicts_its_cached_offer():
    service, suppliers, breakers = build()
    key = OfferKey("b", "h0", date(2030, 6, 1), 7, "2a")

    async def main():
        await service.search(request(["h0"]))
        booking = BookingService(suppliers=suppliers, breakers=breakers, store=service._store, looks=NoLooks())
        suppliers.refusing.add("b")
        refused = await booking.book("b", "h0", "bh0", key)
        return refused, await service._store.get_many([key])

    refused, cached = asyncio.run(main())
    assert refused is False
    assert cached == [None], "the next search asks b again instead of showing the offer that did not book"
