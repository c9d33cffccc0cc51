"""Fixtures of the hotel search tests: the load balancer, each app node, the supplier simulator,
the rendered search settings (for Redis and routing checks) and a search request builder.
The search client carries the operator token (/v1/search/stats needs it); bookings need a
customer session (`booker`)."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from app.search.redis_client import connect
from app.search.wiring import SearchSettings, load_settings
from roadie.lab import hosts
from roadie.services import internal_tls
from tests import support
from tests.support import manifest, wait_until

# Every test run searches its own hotels: nothing a previous run cached can answer for them.
RUN = uuid.uuid4().hex[:6]


def hotels(count: int, tag: str = "") -> list[str]:
    return [f"t{RUN}{tag}{i:04d}" for i in range(count)]


def search_body(hotel_ids, *, suppliers, days_ahead=30, nights=3, rooms=None) -> dict:
    checkin = (datetime.now(UTC) + timedelta(days=days_ahead)).date()
    return {
        "hotel_ids": list(hotel_ids),
        "checkin": checkin.isoformat(),
        "nights": nights,
        "occupancy": {"rooms": rooms or [{"adults": 2}]},
        "suppliers": list(suppliers),
    }


@pytest.fixture(scope="session")
def lb_url(lab, running_hosts):
    return support.lb_url(lab)


@pytest.fixture(scope="session")
def node_urls(lab, running_hosts):
    """Base URL of each app node, straight (not through the load balancer)."""
    return {h.name: f"http://{manifest(h, 'app')['address']}:{manifest(h, 'app')['ports']['http']}"
            for h in lab.group("app")}  # fmt: skip


@pytest.fixture(scope="session")
def search_settings(lab, running_hosts) -> SearchSettings:
    node = lab.group("app")[0]
    path = hosts.on_disk(node, manifest(node, "app")["config"]).parent / "search.yml"
    assert path.is_file(), f"{path} is missing: run ansible/playbooks/search.yml (role app_search)"
    settings = load_settings(path)
    # The CA the search verifies Redis against, a file on the node, as the controller reaches it.
    local_ca = str(hosts.on_disk(node, settings.redis["tls_root_cert"]))
    return settings.model_copy(update={"redis": {**settings.redis, "tls_root_cert": local_ca}})


@pytest.fixture(scope="session")
def sim_url(lab, running_hosts):
    entry = manifest(lab.group("suppliers")[0], "supplier_sim")
    return f"http://{entry['address']}:{entry['ports']['http']}"


@pytest.fixture(scope="session")
def sim(sim_url):
    with httpx.Client(base_url=sim_url, timeout=10) as client:
        yield Simulator(client)


class Simulator:
    """The supplier simulator's operator API: counters and outage modes."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def stats(self, supplier: str) -> dict:
        return self.client.get("/stats").raise_for_status().json()["suppliers"][supplier]

    def set_modes(self, supplier: str, **modes) -> dict:
        return self.client.post(f"/admin/suppliers/{supplier}/mode", json=modes).raise_for_status().json()


@pytest.fixture(scope="session")
def client(lb_url, node_urls, operator):
    """The search API through the load balancer; fails clearly if the app does not mount it."""
    with httpx.Client(base_url=lb_url, timeout=20, headers=operator, verify=internal_tls.http_verify()) as http:
        response = http.get("/v1/search/stats")
        if response.status_code == 404:
            pytest.fail("the app does not serve /v1/search: app/main.py optional_routers() must return "
                        "app.search.api.router (see docs/search.md 'Wiring')")  # fmt: skip
        assert response.status_code == 200, response.text
        for name, url in node_urls.items():

            def serves(url=url):
                return httpx.get(f"{url}/v1/search/stats", headers=operator, timeout=5).status_code == 200

            wait_until(serves, 60, f"search on {name}")
        yield http


@pytest.fixture(scope="session")
def booker(client, api) -> dict[str, str]:
    """A customer session for /v1/search/book (its headers)."""
    return api.open_session(client, f"search-booker-{RUN}@example.org")


@pytest.fixture
def redis_run(search_settings):
    """Run ``coroutine_function(redis)`` against the lab's Redis master (via Sentinel)."""

    def run(coroutine_function):
        async def main():
            redis = connect(search_settings.redis_settings())
            try:
                return await coroutine_function(redis)
            finally:
                await redis.aclose()

        return asyncio.run(main())

    return run
