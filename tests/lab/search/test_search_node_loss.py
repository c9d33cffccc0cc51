"""Losing an app node (power loss of its host) moves the routing keys it owned to the next node
of their ranking; searches keep being answered, and the node takes its keys back on return."""

from datetime import UTC, datetime, timedelta

import httpx

from roadie.lab import hosts
from tests.lab.search.conftest import hotels, search_body
from tests.support import wait_until

SUPPLIER = "fast"


def owner(url: str, days_ahead: int, nights: int, operator: dict[str, str]) -> dict:
    checkin = (datetime.now(UTC) + timedelta(days=days_ahead)).date().isoformat()
    params = {"supplier": SUPPLIER, "checkin": checkin, "nights": nights}
    answer = httpx.get(f"{url}/internal/v1/search/owner", params=params, headers=operator, timeout=10)
    return answer.raise_for_status().json()


def test_killing_an_app_node_reroutes_its_keys(lab, client, node_urls, sim, operator):
    victim = lab.host("app-3")
    survivors = {name: url for name, url in node_urls.items() if name != victim.name}
    # A stay whose routing key app-3 owns.
    first = node_urls["app-1"]
    stay = next((d, n) for d in range(150, 400) for n in (2, 3) if owner(first, d, n, operator)["owner"] == "app-3")
    heir = owner(node_urls["app-1"], *stay, operator)["ranking"][1]
    others = [(d, 2) for d in range(150, 170)]
    owners_before = {s: owner(node_urls["app-1"], *s, operator) for s in others}

    hosts.crash(victim)
    try:
        before = sim.stats(SUPPLIER)["hotels_requested"]
        body = search_body(hotels(4, "heir"), suppliers=[SUPPLIER], days_ahead=stay[0], nights=stay[1])
        response = client.post("/v1/search", json=body)
        assert response.status_code == 200, response.text
        assert all(h["suppliers_skipped"] == [] for h in response.json()["hotels"]), response.text
        assert sim.stats(SUPPLIER)["hotels_requested"] - before == 4, "the supplier was asked, once per hotel"
        for url in survivors.values():
            wait_until(lambda url=url: owner(url, *stay, operator)["owner"] == heir, 10, f"{heir} to own app-3's key")
        for s, before_crash in owners_before.items():
            expected = before_crash["ranking"][1] if before_crash["owner"] == victim.name else before_crash["owner"]
            assert owner(first, *s, operator)["owner"] == expected, "only app-3's keys move, each to its next node"
    finally:
        hosts.power_on(victim)
    victim_stats = f"{node_urls[victim.name]}/v1/search/stats"
    wait_until(lambda: httpx.get(victim_stats, headers=operator, timeout=2).status_code == 200,
               60, "app-3 to serve search again")  # fmt: skip
    for url in survivors.values():
        wait_until(lambda url=url: owner(url, *stay, operator)["owner"] == "app-3", 20, "app-3 to take its keys back")
