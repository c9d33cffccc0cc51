"""Who sells which hotel (issue 16, item 7): the hotel directory's supplier catalogues decide which
suppliers a hotel is asked of and under which code; the real supplier simulator (over ASGI, no
network) counts every code it is asked that is not in its catalogue."""

import asyncio
import json
from datetime import date

import httpx
import pytest
import yaml

from app.search import directory, wiring
from app.search.booking import BookingService
from app.search.directory import MemoryDirectory
from app.search.fetcher import SupplierFetcher
from app.search.models import SearchRequest
from app.search.service import SearchService
from app.search.supplier_client import SupplierClient
from app.search.ttl import TtlTable
from app.suppliersim.api import create_app
from app.suppliersim.config import SimulatorConfig
from roadie.paths import project_root
from tests.unit.search.test_search_service import AsyncBreaker, MemoryNegative, MemoryStore, NoLimit
from tests.unit.search.test_search_wiring import BASE

HOTELS = [f"bh{n:06d}" for n in range(10)]
# "big" sells every hotel as BG<n>; "small" the hotels at positions 3 and 8 as SM000003, SM000008.
CATALOGUES = [
    {"name": "big", "coverage": {"code_prefix": "BG", "every": 1, "offset": 0}},
    {"name": "small", "coverage": {"code_prefix": "SM", "every": 5, "offset": 3}},
]
SIMULATOR = SimulatorConfig.model_validate(
    {
        "suppliers": [
            {"name": c["name"], "latency_ms": 0, "unavailable_share": 0.3, "catalogue": c["coverage"]}
            for c in CATALOGUES
        ]
    }
)


async def no_sleep(_seconds: float) -> None:
    return None


def lab_directory() -> MemoryDirectory:
    return MemoryDirectory(directory.DirectoryContent.model_validate(
        {"cities": [{"name": "kas", "hotels": HOTELS}], "suppliers": CATALOGUES}))  # fmt: skip


def request() -> SearchRequest:
    return SearchRequest.model_validate(
        {"hotel_ids": HOTELS, "checkin": "2030-06-01", "nights": 3, "occupancy": {"rooms": [{"adults": 2}]}},
        context={"today": date(2030, 5, 1)},
    )


async def search_through_the_simulator(found: MemoryDirectory | None):
    """One search of HOTELS from big and small, wired as ``SearchRuntime`` wires it."""
    app = create_app(SIMULATOR, sleep=no_sleep)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as http:
        client = SupplierClient(http, {"big": "http://sim", "small": "http://sim"})
        store, negative = MemoryStore(), MemoryNegative()
        fetcher = SupplierFetcher(
            supplier=client,
            breakers={name: AsyncBreaker(name, lambda: 0.0) for name in ("big", "small")},
            limiter=NoLimit(),
            store=store,
            negative=negative,
            ttl=TtlTable.default(),
            hotel_codes=found,
            max_wait=0.001,
        )
        service = SearchService(
            suppliers=("big", "small"),
            store=store,
            negative=negative,
            fetch=fetcher.fetch,
            sellers=None if found is None else found.sellers,
        )
        response = await service.search(request())
    return response, app.state.simulator.report()["suppliers"]


def test_a_hotel_sold_by_one_supplier_is_never_asked_of_another():
    response, stats = asyncio.run(search_through_the_simulator(lab_directory()))
    assert stats["small"]["hotels_requested"] == 2, "small sells two of the ten hotels"
    assert stats["big"]["hotels_requested"] == 10
    assert stats["small"]["unknown_hotels"] == stats["big"]["unknown_hotels"] == 0, "every code was the supplier's own"
    by_hotel = {h.hotel_id: h for h in response.hotels}
    assert list(by_hotel) == HOTELS, "answers come back under our hotel ids"
    for hotel, answer in by_hotel.items():
        asked = {answer.supplier} | set(answer.suppliers_unavailable) | set(answer.suppliers_skipped)
        asked.discard(None)
        assert asked == ({"big", "small"} if hotel in ("bh000003", "bh000008") else {"big"}), hotel
        assert answer.offer is None or answer.offer.offer_id.startswith(f"{answer.supplier}.")


def test_without_the_mapping_every_supplier_is_asked_under_our_ids_and_the_simulator_counts_it():
    _, stats = asyncio.run(search_through_the_simulator(None))
    assert stats["small"]["hotels_requested"] == 10
    assert stats["small"]["unknown_hotels"] == 10 and stats["big"]["unknown_hotels"] == 10


def test_the_directory_maps_hotels_to_sellers_and_codes():
    found = lab_directory()
    assert found.sellers("bh000003") == {"big": "BG000003", "small": "SM000003"}
    assert found.sellers("bh000004") == {"big": "BG000004"}
    assert found.sellers("elsewhere") is None, "a hotel the directory does not list: every supplier"
    assert found.supplier_code("small", "bh000008") == "SM000008"
    assert found.supplier_code("small", "elsewhere") == "elsewhere"
    explicit = MemoryDirectory(directory.DirectoryContent.model_validate(
        {"cities": [{"name": "kas", "hotels": ["h1", "h2"]}],
         "suppliers": [{"name": "bb", "hotel_codes": {"h2": "BB/77"}}]}))  # fmt: skip
    assert explicit.sellers("h1") == {} and explicit.sellers("h2") == {"bb": "BB/77"}


def test_the_lab_directory_has_few_large_and_more_small_suppliers():
    found = MemoryDirectory(directory.generate())
    sold = {name: sum(1 for h in found.cities() for x in found.hotels_in(h) if name in (found.sellers(x) or {}))
            for name in found.suppliers()}  # fmt: skip
    assert sold == {"fast": 10_000, "slow": 3334, "limited": 1000, "flaky": 5000}


def test_a_coverage_rule_recognises_its_own_codes_only():
    rule = directory.Coverage(code_prefix="SL-", every=3, offset=1)
    assert rule.code(4) == "SL-000004" and rule.code(5) is None
    assert rule.sells("SL-000004") and rule.sells("SL-1000000")
    assert not rule.sells("SL-000005") and not rule.sells("bh000004") and not rule.sells("SL-00004")


def test_a_booking_goes_to_the_supplier_under_its_code():
    booked = []

    class Booker:
        async def book(self, supplier, offer_id, hotel_id):
            booked.append((supplier, offer_id, hotel_id))
            return True

    class Looks:
        async def record_booking(self, supplier):
            return None

    service = BookingService(suppliers=Booker(), breakers={"small": AsyncBreaker("small", lambda: 0.0)},
                             store=MemoryStore(), looks=Looks())  # fmt: skip
    code = lab_directory().supplier_code("small", "bh000003")
    assert asyncio.run(service.book("small", "bh000003", "small.x", supplier_code=code))
    assert booked == [("small", "small.x", "SM000003")]


@pytest.mark.parametrize(
    ("catalogues", "message"),
    [
        ([{"name": "fast", "hotel_codes": {}}, {"name": "ghost", "hotel_codes": {}}], r"unknown: \['ghost'\]"),
        ([{"name": "other", "hotel_codes": {}}], r"missing: \['fast'\]"),
    ],
)
def test_catalogues_must_be_the_configured_suppliers(tmp_path, capsys, catalogues, message):
    hotels = tmp_path / "hotels.json"
    hotels.write_text(
        json.dumps({"version": 2, "cities": [{"name": "kas", "hotels": ["h1"]}], "suppliers": catalogues})
    )
    settings = tmp_path / "search.yml"
    settings.write_text(yaml.safe_dump({**BASE, "directory": {"file": str(hotels)}}))
    assert wiring.main(["--check", str(settings)]) == 1
    assert "must be the configured suppliers" in capsys.readouterr().err
    with pytest.raises(wiring.SearchConfigError, match=message):
        wiring.load_directory(wiring.load_settings(settings))


def test_the_example_simulator_config_carries_catalogues():
    example = SimulatorConfig.load(project_root() / "app" / "suppliersim" / "example.yaml")
    assert all(s.catalogue is not None for s in example.suppliers)
