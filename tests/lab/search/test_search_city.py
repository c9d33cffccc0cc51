"""City search through the load balancer: a city resolves to the deployed hotel directory's hotels
(the file the app_search role rendered beside search.yml), capped at directory.max_hotels, the
answer names the city, and an unknown city is a 4xx naming it."""

import httpx
import pytest

from app.search.directory import FileDirectory
from roadie.lab import hosts
from tests.lab.search.conftest import search_body


@pytest.fixture(scope="module")
def directory(lab, search_settings):
    assert search_settings.directory is not None, (
        "search.yml names no hotel directory: run ansible/playbooks/search.yml (app_search_directory_cities)"
    )
    # The file is on the app node; the controller reads it on the node's disk.
    return FileDirectory(hosts.on_disk(lab.group("app")[0], str(search_settings.directory.file)))


def city_body(city: str, **kwargs) -> dict:
    body = search_body([], suppliers=["fast"], **kwargs)
    del body["hotel_ids"]
    return {**body, "city": city}


def test_every_node_serves_the_same_directory(client, node_urls, directory, operator):
    for name, url in node_urls.items():
        stats = httpx.get(f"{url}/v1/search/stats", headers=operator, timeout=10).json()
        assert stats["directory"]["cities"] == len(directory.cities()), name
        assert stats["directory"]["hotels"] == sum(len(directory.hotels_in(c)) for c in directory.cities()), name


def test_a_city_search_answers_that_citys_hotels(client, directory, search_settings):
    cap = search_settings.directory.max_hotels
    smallest = min(directory.cities(), key=lambda c: len(directory.hotels_in(c)))
    biggest = max(directory.cities(), key=lambda c: len(directory.hotels_in(c)))
    for city in (smallest, biggest.upper()):
        response = client.post("/v1/search", json=city_body(city, days_ahead=60, nights=4))
        assert response.status_code == 200, (city, response.text)
        answer = response.json()
        in_city = directory.hotels_in(city)
        assert answer["city"] == {
            "name": city.lower(),
            "hotels_in_city": len(in_city),
            "hotels_searched": min(cap, len(in_city)),
        }
        answered = [h["hotel_id"] for h in answer["hotels"]]
        assert len(answered) == min(cap, len(in_city)) and len(set(answered)) == len(answered)
        assert set(answered) <= set(in_city), f"hotels outside {city}: {sorted(set(answered) - set(in_city))[:5]}"
        assert any(h["offer"] for h in answer["hotels"]), "the simulator prices the directory's hotels"


def test_an_unknown_city_gets_a_4xx_naming_it(client, directory):
    response = client.post("/v1/search", json=city_body("atlantis"))
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "unknown_city"
    assert "unknown city 'atlantis'" in response.json()["detail"]
    assert directory.cities()[0] in response.json()["detail"], "the answer lists cities that exist"
