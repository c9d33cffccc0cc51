"""Per-supplier settings (issue 16, item 8): each supplier's merge window, batch size and timeout,
its look-to-book cap enforced (throttled from 80 %, cached offers only at the cap), settings that
refuse bad values, and forwards that time out going to the next rendezvous node.

Merge windows run in virtual time (``test_search_rate_limit.run_virtual``); look-to-book counts
are the real ``LookToBookTracker`` on ``memory_redis.MemoryRedis``."""

import asyncio
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from app.search import wiring
from app.search.cache_key import OfferKey
from app.search.contracts import SupplierContract
from app.search.fetcher import SupplierFetcher
from app.search.look_to_book import LookToBook, LookToBookCap, LookToBookGuard, LookToBookThrottled, LookToBookTracker
from app.search.models import HotelAnswer, Occupancy, Offer, PriceSource, SearchRequest
from app.search.rendezvous import Node
from app.search.service import SearchService
from app.search.supplier_client import SupplierClient
from app.search.ttl import TtlTable
from tests.unit.search.memory_redis import MemoryRedis
from tests.unit.search.test_search_rate_limit import run_virtual
from tests.unit.search.test_search_service import AsyncBreaker, MemoryNegative, MemoryStore, NoLimit
from tests.unit.search.test_search_wiring import BASE, key_owned_by, runtime_for

CHECKIN = date(2031, 1, 1)


class Recorder:
    """A supplier answering every hotel with one offer; records each call and its virtual time."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float, tuple[str, ...]]] = []

    async def search(self, supplier, hotel_ids, checkin, nights, occupancy):
        self.calls.append((supplier, asyncio.get_running_loop().time(), tuple(hotel_ids)))
        offer = Offer(offer_id=f"{supplier}.1", room="Std", board="RO", price_minor=100, currency="EUR")
        fetched = datetime(2030, 12, 1, tzinfo=UTC)
        return {h: HotelAnswer(supplier=supplier, hotel_id=h, fetched_at=fetched, offers=(offer,)) for h in hotel_ids}


def fetcher(supplier, contracts=None, guard=None, looks=None, store=None) -> SupplierFetcher:
    return SupplierFetcher(
        supplier=supplier,
        breakers={name: AsyncBreaker(name, lambda: 0.0) for name in ("fast", "slow")},
        limiter=NoLimit(),
        store=store or MemoryStore(),
        negative=MemoryNegative(),
        ttl=TtlTable.default(),
        looks=looks,
        max_wait=0.05,
        contracts=contracts,
        look_guard=guard,
        clock=lambda: datetime(2030, 12, 1, tzinfo=UTC).timestamp(),
    )


def key(supplier: str, hotel: str, checkin: date = CHECKIN) -> OfferKey:
    return OfferKey(supplier, hotel, checkin, 3, "2a")


# --- merge window, batch size, timeout --------------------------------------------------------


def test_each_supplier_merges_for_its_own_window_and_batch_size():
    supplier = Recorder()
    contracts = {"fast": SupplierContract(max_wait=0.25), "slow": SupplierContract(max_wait=1.0, max_batch=4)}
    found = fetcher(supplier, contracts)

    async def main():
        start = asyncio.get_running_loop().time()

        async def miss(at: float, name: str, hotel: str):
            await asyncio.sleep(at)
            return await found.fetch(key(name, hotel))

        # a hotel every 100 ms for 0.9 s, of both suppliers
        await asyncio.gather(*(miss(i / 10, name, f"h{i}") for i in range(10) for name in ("fast", "slow")))
        return start

    start = run_virtual(main)
    fast = [(round(t - start, 3), hotels) for name, t, hotels in supplier.calls if name == "fast"]
    slow = [(round(t - start, 3), hotels) for name, t, hotels in supplier.calls if name == "slow"]
    assert [t for t, _ in fast] == [0.25, 0.55, 0.85, 1.15], "fast: a call 250 ms after each first miss"
    assert [len(h) for _, h in fast] == [3, 3, 3, 1]
    assert [len(h) for _, h in slow] == [4, 4, 2], "slow: full batches of 4 go at once, the rest after 1 s"
    assert slow[-1][0] == pytest.approx(1.8), "the last slow buffer opened at 0.8 s and waited its 1 s"


def test_a_fetcher_without_contracts_keeps_its_defaults():
    found = fetcher(Recorder())
    assert found.contract("anyone") == SupplierContract(max_wait=0.05, max_batch=50, limit_wait=0.5)


def test_each_supplier_call_has_its_own_timeout():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen[request.url.path.split("/")[2]] = request.extensions["timeout"]["read"]
        return httpx.Response(200, json={"results": [{"hotel_id": "h1", "offers": []}]})

    async def main():
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            client = SupplierClient(http, {"fast": "http://s", "slow": "http://s"}, timeout=2.0, timeouts={"slow": 0.7})
            occupancy = Occupancy.model_validate({"rooms": [{"adults": 2}]})
            for name in ("fast", "slow"):
                await client.search(name, ["h1"], CHECKIN, 3, occupancy)

    asyncio.run(main())
    assert seen == {"fast": 2.0, "slow": 0.7}


# --- look-to-book -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("looks", "bookings", "share"),
    [(0, 0, 1.0), (79, 0, 1.0), (80, 0, 1.0), (90, 0, 0.5), (95, 0, 0.25), (100, 0, 0.0), (250, 0, 0.0),
     (230, 3, 1.0), (270, 3, 0.5)],
)  # fmt: skip
def test_the_share_of_lookups_falls_from_80_percent_of_the_cap_to_none_at_it(looks, bookings, share):
    cap = LookToBookCap(max_ratio=100)
    assert cap.admitted_share(LookToBook("s", looks, looks, bookings)) == pytest.approx(share)


def test_lookups_are_throttled_near_the_cap_and_stop_at_it_while_cached_offers_are_served():
    redis = MemoryRedis()
    tracker = LookToBookTracker(redis, clock=lambda: datetime(2030, 12, 1, tzinfo=UTC).timestamp())
    guard = LookToBookGuard(tracker, {"slow": LookToBookCap(max_ratio=100)}, refresh=0)
    supplier, store = Recorder(), MemoryStore()
    found = fetcher(supplier, {"slow": SupplierContract(max_wait=0.0)}, guard, tracker, store)
    outcomes = []

    async def main():
        for i in range(300):  # 300 lookups, each its own stay: each would be one supplier call
            try:
                await found.fetch(key("slow", "h1", CHECKIN + timedelta(days=i)))
                outcomes.append(True)
            except LookToBookThrottled:
                outcomes.append(False)

    asyncio.run(main())
    assert len(supplier.calls) == 100, "looks stop exactly at the cap (100 per booking, none booked yet)"
    assert all(outcomes[:80]), "below 80 % of the cap every lookup goes out"
    assert 0 < sum(outcomes[80:100]) < 20, "from 80 % a falling share goes out"
    assert outcomes.index(False) == 81 and len(outcomes) - outcomes[::-1].index(True) > 150, "spread over many"
    assert not any(outcomes[-50:]), "at the cap none do"
    service = SearchService(suppliers=("slow",), store=store, negative=MemoryNegative(), fetch=found.fetch,
                            clock=lambda: datetime(2030, 12, 1, tzinfo=UTC).timestamp())  # fmt: skip
    request = SearchRequest.model_validate(
        {"hotel_ids": ["h1", "h2"], "checkin": CHECKIN, "nights": 3, "occupancy": {"rooms": [{"adults": 2}]}},
        context={"today": date(2030, 12, 1)},
    )
    cached, uncached = asyncio.run(service.search(request)).hotels
    assert cached.source == PriceSource.CACHE and cached.offer is not None, "at the cap the cache still answers"
    assert uncached.suppliers_skipped == ("slow",) and len(supplier.calls) == 100
    for _ in range(2):  # 100 looks per booking: two bookings allow 200 looks
        asyncio.run(tracker.record_booking("slow"))
    asyncio.run(found.fetch(key("slow", "h2")))
    assert len(supplier.calls) == 101, "bookings raise the cap: lookups flow again"


def test_between_reads_the_nodes_own_looks_count_and_a_redis_outage_keeps_the_last_counts():
    class Reader:
        def __init__(self):
            self.counts = LookToBook("s", 79, 79, 0)
            self.down = False

        async def read(self, supplier, days=1):
            if self.down:
                raise RedisConnectionError("redis is down")
            return self.counts

    reader = Reader()
    now = [0.0]
    guard = LookToBookGuard(reader, {"s": LookToBookCap(max_ratio=100)}, refresh=10, clock=lambda: now[0])

    async def admitted(times: int) -> int:
        sent = 0
        for _ in range(times):
            try:
                await guard.admit("s")
            except LookToBookThrottled:
                continue
            guard.looked("s")
            sent += 1
        return sent

    assert asyncio.run(admitted(200)) == 21, "79 known + this node's own looks reach the cap without a read"
    reader.down, now[0] = True, 20.0
    assert asyncio.run(admitted(50)) == 0, "Redis down: the last counts and the node's looks since still hold"
    with pytest.raises(LookToBookThrottled, match=r"100 looks for 0 bookings is at its cap"):
        asyncio.run(guard.admit("s"))


# --- settings ----------------------------------------------------------------------------------


def supplier_with(**settings) -> dict:
    return {**BASE, "suppliers": [{**BASE["suppliers"][0], **settings}]}


def test_per_supplier_settings_override_the_global_ones():
    settings = wiring.SearchSettings.model_validate(
        {**BASE, "suppliers": [{**BASE["suppliers"][0], "max_wait": "200ms", "timeout": "1s",
                                "look_to_book": {"max_ratio": 3000}},
                               {"name": "slow", "url": "http://sim:8100", "max_batch": 20}]})  # fmt: skip
    contracts = settings.contracts()
    assert contracts["fast"] == SupplierContract(0.2, 50, 0.5, 1.0, LookToBookCap(3000, 0.8, 1))
    assert contracts["slow"] == SupplierContract(0.05, 20, 0.5, 2.0, None), "omitted: the global settings"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"max_wait": "3s"}, r"suppliers\.0\.max_wait\n  Input should be less than or equal to 2"),
        ({"max_batch": 0}, r"suppliers\.0\.max_batch"),
        ({"max_batch": 1001}, r"suppliers\.0\.max_batch"),
        ({"timeout": "0s"}, r"suppliers\.0\.timeout"),
        ({"timeout": "1m"}, r"suppliers\.0\.timeout"),
        ({"look_to_book": {"max_ratio": 0}}, r"look_to_book\.max_ratio"),
        ({"look_to_book": {"max_ratio": 10, "throttle_from": 1.5}}, r"look_to_book\.throttle_from"),
        ({"look_to_book": {"ratio": 10}}, r"look_to_book\.ratio\n  Extra inputs"),
        ({"max_wait": "1s", "timeout": "2s"},
         r"supplier fast: merge window 1s \+ rate-limit wait 0\.5s \+ timeout 2s = 3\.5s must be below "
         r"forward_timeout 3s"),
    ],
)  # fmt: skip
def test_bad_per_supplier_settings_are_refused_with_a_clear_error(settings, message):
    with pytest.raises(ValueError, match=message):
        wiring.SearchSettings.model_validate(supplier_with(**settings))


def test_a_global_merge_window_over_the_bound_is_refused():
    with pytest.raises(ValueError, match=r"batching: max_wait \(merge window\) must be 0\.\.2s \(got 2\.5s\)"):
        wiring.SearchSettings.model_validate({**BASE, "batching": {"max_wait": "2.5s"}, "forward_timeout": "10s"})


# --- forwards that time out go to the next node ------------------------------------------------


def test_a_forward_that_times_out_goes_to_the_next_node_without_marking_the_owner_down():
    asyncio.run(_owner_slow())


async def _owner_slow() -> None:
    miss = key_owned_by("app-2")
    asked = []

    def peers(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.host)
        if request.url.host == "app-2":
            raise httpx.ReadTimeout("no answer", request=request)
        answer = HotelAnswer(supplier="fast", hotel_id="h1", fetched_at=datetime.now(UTC))
        return httpx.Response(200, json={"answers": {"h1": answer.model_dump(mode="json")}, "errors": {}})

    runtime = runtime_for("app-1", peers)
    answer = await runtime.fetch(miss)
    assert answer.hotel_id == "h1", "answered by the next node of the ranking"
    assert asked[0] == "app-2"
    assert runtime.membership.is_healthy(Node("app-2")), "slow is not down: its health checks decide"
    assert runtime.routing.reroutes == 1 and runtime.routing.timeouts == 1
    await runtime.peer_http.aclose()
