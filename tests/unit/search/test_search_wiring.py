"""Search settings, where they are found, and routing a miss to its owner with fallback when the
owner is unreachable (peers are an httpx mock transport; no lab needed)."""

import asyncio
from datetime import UTC, date, datetime

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.common.settings import AuthSettings
from app.search import api, wiring
from app.search.batching import Coalescer
from app.search.cache_key import OfferKey, routing_key
from app.search.membership import Membership
from app.search.models import HotelAnswer
from app.search.rendezvous import Node

BASE = {
    "node": "app-1",
    "nodes": [{"name": f"app-{i}", "url": f"http://10.0.{i}.31:8000"} for i in (1, 2, 3)],
    "node_token": "n" * 32,
    "redis": {"sentinels": [["10.0.1.21", 26379]], "service": "roadie", "username": "app", "password": "x" * 16},
    "suppliers": [{"name": "fast", "url": "http://sim:8100", "rate_limit": {"calls": 10, "per": "1m"}}],
    "batching": {"max_wait": "50ms"},
    "breaker": {"time_scale": 0.01},
}

AUTH = AuthSettings(operator_token="o" * 32, customer_issuer="tests", customer_issuer_key="k" * 32)


def test_settings_parse_durations_and_share_redis_with_the_redis_offer_store():
    settings = wiring.SearchSettings.model_validate(BASE)
    assert settings.batching.max_wait == 0.05
    assert settings.suppliers[0].rate_limit.per == 60
    backend, options = settings.offer_store_options()
    assert backend == "redis" and options["sentinels"] == [["10.0.1.21", 26379]] and options["username"] == "app"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"node": "app-9"}, "not among the configured nodes"),
        ({"suppliers": [BASE["suppliers"][0]] * 2}, "supplier names must be unique"),
        ({"breaker": {"nonsense": 1}}, "unknown breaker settings"),
        ({"redis": {"hosts": 1}}, "unknown Redis settings"),
        ({"batching": {"max_wait": "soon"}}, "not a duration"),
        ({"negative_cache": {"shards": 0}}, "shards"),
        (
            {"suppliers": [{**BASE["suppliers"][0], "rate_limit": {"calls": 5, "per": "1s", "safety_ratio": 0.9}}]},
            "safety_ratio",
        ),
        ({"breaker": {"max_unavailable_share": 0}}, "max_unavailable_share"),
        ({"breaker": {"unavailable_window": "2m"}}, "unavailable_window"),
        ({"negative_cache": {"target_fpr": 0.7}}, "target_fpr"),
        ({"negative_cache": {"growth": 8, "max_generations": 32}}, "a Bloom filter needs 1..4294967296 bits"),
    ],
)
def test_invalid_settings_name_the_problem(change, message):
    with pytest.raises(ValueError, match=message):
        wiring.SearchSettings.model_validate({**BASE, **change})


def test_settings_are_found_beside_the_app_configuration():
    assert wiring.config_path({"ROADIE_APP_CONFIG": "/etc/roadie-app/app.yml"}).as_posix() == (
        "/etc/roadie-app/search.yml"
    )
    assert wiring.config_path({"ROADIE_SEARCH_CONFIG": "/x/s.yml", "ROADIE_APP_CONFIG": "/y/a.yml"}).as_posix() == (
        "/x/s.yml"
    )


def test_without_settings_the_endpoints_answer_503_saying_why(monkeypatch, tmp_path):
    monkeypatch.setenv("ROADIE_SEARCH_CONFIG", str(tmp_path / "missing.yml"))
    app = FastAPI()
    app.include_router(api.router)
    app.state.auth = AUTH
    with TestClient(app) as client:
        response = client.get("/v1/search/stats", headers={"Authorization": f"Bearer {AUTH.operator_token}"})
    assert response.status_code == 503 and "missing.yml" in response.json()["detail"]


class LocalFetcher:
    def __init__(self) -> None:
        self.keys: list[OfferKey] = []

    async def fetch(self, key: OfferKey) -> HotelAnswer:
        self.keys.append(key)
        return HotelAnswer(supplier=key.supplier, hotel_id=key.hotel_id, fetched_at=datetime.now(UTC))


def runtime_for(self_name: str, handler) -> wiring.SearchRuntime:
    nodes = [Node(f"app-{i}", f"http://app-{i}") for i in (1, 2, 3)]
    runtime = wiring.SearchRuntime.__new__(wiring.SearchRuntime)
    runtime.settings = wiring.SearchSettings.model_validate({**BASE, "node": self_name})
    runtime.membership = Membership(nodes, self_name)
    runtime.fetcher = LocalFetcher()
    runtime.peer_http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    runtime.routing = wiring.RoutingStats()
    runtime._forwarder = Coalescer(runtime._forward, max_wait=0.001, max_batch=50)
    return runtime


def key_owned_by(name: str, checkin_base: date = date(2031, 1, 1)) -> OfferKey:
    membership = Membership([Node(f"app-{i}") for i in (1, 2, 3)])
    for nights in range(1, 200):
        if membership.owner(routing_key("fast", checkin_base, nights)).name == name:
            return OfferKey("fast", "h1", checkin_base, nights, "2a")
    raise AssertionError("no key found")


def test_a_miss_goes_to_its_owner_and_to_the_next_node_when_the_owner_is_down():
    asyncio.run(_owner_down())


async def _owner_down() -> None:
    key = key_owned_by("app-2")
    ranking = [n.name for n in Membership([Node(f"app-{i}") for i in (1, 2, 3)]).ring.rank(
        routing_key(key.supplier, key.checkin, key.nights))]  # fmt: skip
    asked = []

    def peers(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.host)
        if request.url.host == "app-2":
            raise httpx.ConnectError("connection refused", request=request)
        assert request.headers[wiring.FORWARDED_HEADER] == "app-1"
        assert request.headers["Authorization"] == f"Bearer {BASE['node_token']}", "a forward carries the node token"
        answer = HotelAnswer(supplier="fast", hotel_id="h1", fetched_at=datetime.now(UTC))
        return httpx.Response(200, json={"answers": {"h1": answer.model_dump(mode="json")}, "errors": {}})

    runtime = runtime_for("app-1", peers)
    answer = await runtime.fetch(key)
    assert answer.hotel_id == "h1"
    assert asked[0] == "app-2", "the owner is asked first"
    assert not runtime.membership.is_healthy(Node("app-2")), "a refused connection marks the owner down at once"
    heir = next(name for name in ranking if name != "app-2")
    if heir == "app-1":
        assert runtime.fetcher.keys == [key], "this node is next: it fetches itself"
    else:
        assert asked[1:] == [heir]
    assert runtime.routing.reroutes == 1
    await runtime.peer_http.aclose()
