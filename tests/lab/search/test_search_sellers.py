"""Who sells which hotel, in the lab (issue 16, item 7): a city search asks each directory hotel
only of the suppliers whose catalogue has it, under their codes, so the simulator counts no code
outside its catalogues; per-supplier settings and the Redis mode show in every node's stats."""

import random

import httpx
import pytest

from app.search.directory import FileDirectory
from roadie.lab import hosts
from tests.lab.search.conftest import search_body

SUPPLIERS = ("fast", "slow", "limited", "flaky")


@pytest.fixture(scope="module")
def directory(lab, search_settings):
    assert search_settings.directory is not None, "search.yml names no hotel directory (app_search_directory_cities)"
    return FileDirectory(hosts.on_disk(lab.group("app")[0], str(search_settings.directory.file)))


def test_the_deployed_directory_has_every_suppliers_catalogue(directory):
    assert set(directory.suppliers()) == set(SUPPLIERS)


def test_a_city_search_asks_only_the_sellers_under_their_codes(client, sim, directory):
    city = min(directory.cities(), key=lambda c: len(directory.hotels_in(c)))
    before = {name: sim.stats(name) for name in SUPPLIERS}
    body = search_body([], suppliers=list(SUPPLIERS), days_ahead=random.randint(200, 400), nights=2)
    del body["hotel_ids"]
    response = client.post("/v1/search", json={**body, "city": city})
    assert response.status_code == 200, response.text
    after = {name: sim.stats(name) for name in SUPPLIERS}
    for name in SUPPLIERS:
        assert after[name]["unknown_hotels"] == before[name]["unknown_hotels"], f"{name} was asked a foreign code"
    for hotel in response.json()["hotels"]:
        sellers = set(directory.sellers(hotel["hotel_id"]) or SUPPLIERS)
        asked = set(hotel["suppliers_unavailable"]) | set(hotel["suppliers_skipped"]) | {hotel["supplier"]} - {None}
        assert asked <= sellers, (hotel["hotel_id"], asked, sellers)


def test_every_node_shows_its_supplier_settings_and_redis_mode(node_urls, operator):
    for name, url in node_urls.items():
        stats = httpx.get(f"{url}/v1/search/stats", headers=operator, timeout=10).raise_for_status().json()
        assert stats["redis"]["mode"] == "shared", name
        assert stats["suppliers"]["limited"]["contract"]["max_wait"] == 1.0, name
        assert stats["suppliers"]["fast"]["contract"]["max_wait"] == 0.2, name
