"""The hotel directory (which hotels are in which city), the lab's directory as the app_search role
renders it, and city searches resolved to hotel ids through the search API (in process)."""

import asyncio
import json
from datetime import UTC, date, datetime, timedelta

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.search import api, directory, wiring
from app.search.directory import DirectoryError, FileDirectory, MemoryDirectory, UnknownCity
from app.search.membership import Membership
from app.search.models import HotelAnswer, Offer, SearchRequest
from app.search.rendezvous import Node
from roadie.paths import ansible_dir
from tests.unit.observability.role_render import HOSTVARS, render_template, role_variables
from tests.unit.search.test_search_service import MemoryNegative, MemoryStore
from tests.unit.search.test_search_wiring import BASE

ROLE_DEFAULTS = ansible_dir() / "roles" / "app_search" / "defaults" / "main.yml"
LAB_SUPPLIERS = ansible_dir() / "inventories" / "lab" / "group_vars" / "suppliers.yml"


def write(tmp_path, content, name="hotels.json"):
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


# --- the directory ------------------------------------------------------------------------


def test_the_lab_directory_covers_the_benchmark_hotels_with_a_realistic_skew():
    content = directory.generate()
    hotels = [h for city in content.cities for h in city.hotels]
    assert sorted(hotels) == [f"bh{n:06d}" for n in range(10_000)], "every bench id, each in one city"
    sizes = sorted((len(c.hotels) for c in content.cities), reverse=True)
    assert len(sizes) >= 10
    assert sum(sizes[:3]) >= 0.5 * sum(sizes), "a few big cities hold most hotels"
    assert sum(1 for s in sizes if s < 0.05 * sum(sizes)) >= len(sizes) // 2, "many small cities"


def test_a_directory_file_answers_a_citys_hotels_in_any_case(tmp_path):
    path = write(tmp_path, {"version": 1, "cities": [{"name": "Antalya", "hotels": ["h1", "h2", "h1"]},
                                                      {"name": "kas", "hotels": ["h3"]}]})  # fmt: skip
    found = FileDirectory(path)
    assert found.cities() == ("Antalya", "kas")
    assert found.hotels_in("antalya") == ("h1", "h2"), "a hotel listed twice is searched once"
    assert found.hotels_in("KAS") == ("h3",)
    assert found.describe() == {"backend": "file", "cities": 2, "hotels": 3, "suppliers": [], "file": str(path)}


def test_an_unknown_city_is_named_with_the_known_ones():
    with pytest.raises(UnknownCity, match=r"unknown city 'atlantis'; the hotel directory has: antalya, kas") as info:
        MemoryDirectory({"antalya": ["h1"], "kas": ["h2"]}).hotels_in("atlantis")
    assert info.value.city == "atlantis"
    many = MemoryDirectory({f"c{i}": [f"h{i}"] for i in range(30)})
    with pytest.raises(UnknownCity, match=r"c9 \.\.\. \(30 cities\)"):
        many.hotels_in("nowhere")


def test_a_city_search_asks_for_at_most_the_cap_of_its_hotels_in_directory_order():
    lab = MemoryDirectory(directory.generate())
    big = lab.resolve("ANTALYA", 100)
    assert big.city == "antalya" and big.total == 2600 and big.truncated
    assert big.hotel_ids == tuple(f"bh{n:06d}" for n in range(100))
    small = lab.resolve("cesme", 100)
    assert small.total == len(small.hotel_ids) == 100 and not small.truncated
    assert all(h in lab.hotels_in("cesme") for h in small.hotel_ids)
    with pytest.raises(ValueError, match="at least 1"):
        lab.resolve("kas", 0)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not JSON"),
        ({"cities": []}, "at least 1 item"),
        ({"cities": [{"name": "kas", "hotels": []}]}, "at least 1 item"),
        ({"cities": [{"name": "kas", "hotels": ["h1"]}, {"name": "KAS", "hotels": ["h2"]}]}, "listed twice"),
        ({"cities": [{"name": "kas", "hotels": ["h1"]}, {"name": "rome", "hotels": ["h1"]}]}, "in two cities"),
        ({"cities": [{"name": "kas", "hotels": ["h 1"]}]}, "malformed hotel ids"),
        ({"cities": [{"name": "new york", "hotels": ["h1"]}]}, "String should match pattern"),
        ({"version": 3, "cities": [{"name": "kas", "hotels": ["h1"]}]}, "unsupported directory version 3"),
        (
            {
                "version": 1,
                "cities": [{"name": "kas", "hotels": ["h1"]}],
                "suppliers": [{"name": "s", "hotel_codes": {}}],
            },
            "a version 1 directory has no suppliers",
        ),
        (
            {"cities": [{"name": "kas", "hotels": ["h1"]}], "suppliers": [{"name": "s"}]},
            "give exactly one of coverage and hotel_codes",
        ),
        (
            {
                "cities": [{"name": "kas", "hotels": ["h1", "h2"]}],
                "suppliers": [{"name": "s", "hotel_codes": {"h1": "X", "h2": "X"}}],
            },
            r"codes \['X'\] name more than one hotel",
        ),
        (
            {"cities": [{"name": "kas", "hotels": ["h1"]}], "suppliers": [{"name": "s", "hotel_codes": {"h9": "X"}}]},
            r"hotels \['h9'\] are in no city",
        ),
        (
            {
                "cities": [{"name": "kas", "hotels": ["h1"]}],
                "suppliers": [{"name": "s", "coverage": {"code_prefix": "S", "every": 2, "offset": 2}}],
            },
            "coverage offset must be below every",
        ),
        (
            {"cities": [{"name": "kas", "hotels": ["h1"]}], "suppliers": [{"name": "s", "hotel_codes": {}}] * 2},
            "supplier names must be unique",
        ),
        ({"cities": [{"name": "kas", "hotels": ["h1"]}], "hotels": 3}, "Extra inputs are not permitted"),
    ],
)
def test_an_invalid_directory_file_names_the_file_and_the_problem(tmp_path, content, message):
    path = write(tmp_path, content)
    with pytest.raises(DirectoryError, match=message) as info:
        FileDirectory(path)
    assert str(path) in str(info.value)


def test_a_missing_directory_file_is_named(tmp_path):
    with pytest.raises(DirectoryError, match=r"cannot read hotel directory .*missing\.json"):
        FileDirectory(tmp_path / "missing.json")


def test_the_check_command_validates_a_file(tmp_path, capsys):
    good = write(tmp_path, directory.generate().model_dump_json())
    assert directory.main(["--check", str(good)]) == 0
    assert "ok: 12 cities, 10000 hotels" in capsys.readouterr().out
    bad = write(tmp_path, {"cities": []}, "bad.json")
    assert directory.main(["--check", str(bad)]) == 1
    assert "invalid hotel directory" in capsys.readouterr().err


# --- the role renders the same directory ----------------------------------------------------


def test_the_role_defaults_list_the_lab_cities():
    cities = yaml.safe_load(ROLE_DEFAULTS.read_text())["app_search_directory_cities"]
    assert [(c["name"], c["hotels"]) for c in cities] == list(directory.LAB_CITIES)


def lab_role_variables(**overrides) -> dict:
    """The role's variables with the lab's simulated suppliers, and the sellers as tasks/main.yml resolves them."""
    lab_suppliers = yaml.safe_load(LAB_SUPPLIERS.read_text())["supplier_sim_suppliers"]
    hostvars = {**HOSTVARS, "suppliers": {**HOSTVARS["suppliers"], "supplier_sim_suppliers": lab_suppliers}}
    variables = role_variables("app_search", {"app_search_node_name": "app-1", "hostvars": hostvars, **overrides})
    given = variables["app_search_directory_suppliers"]
    sellers = given or yaml.safe_load(render_template("app_search", "simulated-catalogues.j2", variables)) or []
    return {**variables, "_app_search_directory_suppliers": sellers}


def test_the_role_renders_the_lab_directory_that_generate_builds(tmp_path):
    rendered = render_template("app_search", "hotels.json.j2", lab_role_variables())
    path = write(tmp_path, rendered)
    assert directory.load(path).cities == directory.generate().cities
    assert directory.load(path).suppliers == directory.generate().suppliers, "the lab inventory's catalogues"
    assert [c["name"] for c in directory.LAB_CATALOGUES] == ["fast", "slow", "limited", "flaky"]
    assert "Ansible managed" in json.loads(rendered)["comment"]


def test_the_role_renders_explicit_sellers_over_the_simulators(tmp_path):
    sellers = [{"name": "fast", "hotel_codes": {"bh000001": "F-1"}}]
    found = FileDirectory(write(tmp_path, render_template(
        "app_search", "hotels.json.j2", lab_role_variables(app_search_directory_suppliers=sellers))))  # fmt: skip
    assert found.suppliers() == ("fast",)
    assert found.sellers("bh000001") == {"fast": "F-1"} and found.sellers("bh000002") == {}


def test_without_catalogues_the_role_renders_a_directory_without_sellers(tmp_path):
    variables = role_variables("app_search", {"app_search_node_name": "app-1", "_app_search_directory_suppliers": []})
    found = FileDirectory(write(tmp_path, render_template("app_search", "hotels.json.j2", variables)))
    assert found.suppliers() == () and found.sellers("bh000001") is None


def test_the_role_renders_explicit_hotel_ids_and_numbers_the_others_on(tmp_path):
    cities = [{"name": "fethiye", "hotel_ids": ["h000042", "h000043"]}, {"name": "kas", "hotels": 2},
              {"name": "rome", "hotels": 1}]  # fmt: skip
    variables = role_variables("app_search", {"app_search_node_name": "app-1", "app_search_directory_cities": cities,
                                              "app_search_directory_id_prefix": "x",
                                              "_app_search_directory_suppliers": []})  # fmt: skip
    found = FileDirectory(write(tmp_path, render_template("app_search", "hotels.json.j2", variables)))
    assert found.hotels_in("fethiye") == ("h000042", "h000043")
    assert found.hotels_in("kas") == ("x000000", "x000001")
    assert found.hotels_in("rome") == ("x000002",)


# --- settings -------------------------------------------------------------------------------


def settings_with(tmp_path, **directory_settings) -> wiring.SearchSettings:
    file = write(tmp_path, directory.generate(suppliers=()).model_dump_json())
    return wiring.SearchSettings.model_validate({**BASE, "directory": {"file": str(file), **directory_settings}})


def test_directory_settings_default_the_cap_and_bound_it(tmp_path):
    assert settings_with(tmp_path).directory.max_hotels == 100
    for bad in (0, 501):
        with pytest.raises(ValueError, match=r"directory\.max_hotels"):
            settings_with(tmp_path, max_hotels=bad)
    with pytest.raises(ValueError, match=r"directory\.file"):
        wiring.SearchSettings.model_validate({**BASE, "directory": {"max_hotels": 5}})


def test_settings_naming_a_broken_directory_fail_the_check(tmp_path, capsys):
    settings = tmp_path / "search.yml"
    settings.write_text(yaml.safe_dump({**BASE, "directory": {"file": str(tmp_path / "nope.json")}}))
    assert wiring.main(["--check", str(settings)]) == 1
    assert "directory.file: cannot read hotel directory" in capsys.readouterr().err
    write(tmp_path, directory.generate(suppliers=()).model_dump_json(), "nope.json")
    assert wiring.main(["--check", str(settings)]) == 0
    assert "12 cities" in capsys.readouterr().out


# --- city search through the API (in process, fakes for Redis and suppliers) ----------------


class PricingFetcher:
    """Every hotel has one offer; records which hotels were asked."""

    def __init__(self) -> None:
        self.hotels: list[str] = []

    async def fetch(self, key):
        self.hotels.append(key.hotel_id)
        offer = Offer(offer_id=f"o-{key.hotel_id}", room="Standard", board="RO", price_minor=100, currency="EUR")
        return HotelAnswer(supplier=key.supplier, hotel_id=key.hotel_id, fetched_at=datetime.now(UTC), offers=(offer,))


def runtime_with(settings: wiring.SearchSettings) -> wiring.SearchRuntime:
    runtime = wiring.SearchRuntime.__new__(wiring.SearchRuntime)
    runtime.settings = settings.model_copy(update={"node": "app-1"})
    runtime.directory = wiring.load_directory(settings)
    runtime.membership = Membership([Node("app-1", "http://app-1")], "app-1")
    runtime.fetcher = PricingFetcher()
    runtime.store = MemoryStore()
    runtime.negative = MemoryNegative()
    runtime.metrics = None
    runtime.routing = wiring.RoutingStats()
    runtime.offers_hidden = nothing_hidden  # no breakers here: every supplier's offers are shown
    return runtime


async def nothing_hidden(suppliers):
    return set()


@pytest.fixture
def city_client(tmp_path):
    def make(settings):
        app = FastAPI()
        app.include_router(api.router)
        app.state.search = runtime_with(settings)
        return TestClient(app), app.state.search  # no lifespan: the runtime above serves

    return make


def body(**where) -> dict:
    checkin = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    return {"checkin": checkin, "nights": 3, "occupancy": {"rooms": [{"adults": 2}]}, **where}


def test_a_city_search_searches_the_citys_hotels_and_says_which_city(tmp_path, city_client):
    client, runtime = city_client(settings_with(tmp_path, max_hotels=40))
    response = client.post("/v1/search", json=body(city="Rome"))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["city"] == {"name": "rome", "hotels_in_city": 800, "hotels_searched": 40}
    rome = set(runtime.directory.hotels_in("rome"))
    assert len(answer["hotels"]) == 40 and {h["hotel_id"] for h in answer["hotels"]} <= rome
    assert all(h["offer"] and h["source"] == "supplier" for h in answer["hotels"])
    assert set(runtime.fetcher.hotels) <= rome, "only the city's hotels were asked for"
    by_ids = client.post("/v1/search", json=body(hotel_ids=["bh000001"])).json()
    assert by_ids["city"] is None and [h["hotel_id"] for h in by_ids["hotels"]] == ["bh000001"]


def test_an_unknown_city_is_a_404_naming_it(tmp_path, city_client):
    client, _ = city_client(settings_with(tmp_path))
    response = client.post("/v1/search", json=body(city="atlantis"))
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_city"
    assert "unknown city 'atlantis'" in response.json()["detail"] and "antalya" in response.json()["detail"]


def test_a_city_search_without_a_directory_is_a_400_saying_so(city_client):
    client, _ = city_client(wiring.SearchSettings.model_validate(BASE))
    response = client.post("/v1/search", json=body(city="antalya"))
    assert response.status_code == 400 and response.json()["code"] == "no_directory"
    assert "none is configured" in response.json()["detail"]


@pytest.mark.parametrize(("where", "got"), [({"city": "rome", "hotel_ids": ["bh000001"]}, "both"), ({}, "neither")])
def test_exactly_one_of_hotel_ids_and_city_or_422(tmp_path, city_client, where, got):
    client, _ = city_client(settings_with(tmp_path))
    response = client.post("/v1/search", json=body(**where))
    assert response.status_code == 422
    assert f"give either hotel_ids or city, not both and not neither (got {got})" in response.text


def test_the_openapi_schema_documents_city_search():
    app = FastAPI()
    app.include_router(api.router)
    schema = app.openapi()
    responses = schema["paths"]["/v1/search"]["post"]["responses"]
    assert {"400", "404", "422"} <= set(responses)
    assert "city" in schema["components"]["schemas"]["SearchBody"]["properties"]
    assert "CitySearched" in schema["components"]["schemas"]


def test_the_service_itself_only_searches_ids():
    request = SearchRequest.model_validate(
        {"city": "kas", "checkin": date(2031, 1, 1), "nights": 1, "occupancy": {"rooms": [{"adults": 1}]}},
        context={"today": date(2030, 12, 1)},
    )
    runtime = runtime_with(wiring.SearchSettings.model_validate(BASE))
    with pytest.raises(wiring.CitySearchUnavailable):
        asyncio.run(runtime.search(request))
