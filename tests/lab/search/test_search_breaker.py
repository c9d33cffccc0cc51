"""A supplier that switches everything off, or whose bookings fail, is switched off by its
circuit breaker on every node, and probed back in once it recovers (lab-scaled open times)."""

import asyncio
import itertools
import random

import httpx
import pytest

from tests.lab.search.conftest import hotels, search_body
from tests.support import wait_until

SUPPLIER = "flaky"
_stays = itertools.count()


@pytest.fixture
def flaky(sim, search_settings, redis_run):
    """The flaky supplier with a fresh breaker, its modes restored afterwards."""
    original = sim.stats(SUPPLIER)["modes"]
    base = f"{search_settings.key_prefix}breaker:v1:{SUPPLIER}"

    async def forget(redis):
        keys = [key async for key in redis.scan_iter(match=f"{base}:*", count=1000)]
        if keys:
            await redis.delete(*keys)

    redis_run(forget)
    sim.set_modes(SUPPLIER, error_rate=0.0)
    yield sim
    sim.set_modes(SUPPLIER, **original)
    redis_run(forget)


def phases(node_urls, operator) -> set[str]:
    stats = [httpx.get(f"{url}/v1/search/stats", headers=operator, timeout=10).json() for url in node_urls.values()]
    return {node["suppliers"][SUPPLIER]["breaker"]["phase"] for node in stats}


def breaker(client) -> dict:
    return client.get("/v1/search/stats").json()["suppliers"][SUPPLIER]["breaker"]


def probe_until_closed(client, node_urls, timeout: float, booker: dict[str, str] | None = None) -> int:
    """Search fresh stays (each one supplier call) until the breaker is closed again; with
    ``booker`` (a customer session), also book an offer each round shows (a booking trip closes on probe bookings)."""
    urls = list(node_urls.values())
    sent = 0

    async def round_of_searches(http):
        bodies = [
            search_body(hotels(5, f"probe{next(_stays)}"), suppliers=[SUPPLIER],
                        days_ahead=random.randint(120, 480), nights=random.randint(1, 30))
            for _ in range(10)
        ]  # fmt: skip
        responses = await asyncio.gather(*(http.post(f"{urls[i % 3]}/v1/search", json=b) for i, b in enumerate(bodies)))
        if booker is not None:
            await book_one_offer(http, urls[0], bodies, responses)
        return len(bodies)

    async def book_one_offer(http, url, bodies, responses):
        for body, response in zip(bodies, responses, strict=True):
            offer = next((h for h in response.json()["hotels"] if h["offer"]), None)
            if offer is not None:
                stay = {k: body[k] for k in ("checkin", "nights", "occupancy")}
                booking = {"supplier": SUPPLIER, "hotel_id": offer["hotel_id"], "offer_id": offer["offer"]["offer_id"]}
                await http.post(f"{url}/v1/search/book", json={**booking, **stay}, headers=booker)
                return

    async def drive():
        nonlocal sent
        async with httpx.AsyncClient(timeout=20) as http:
            while breaker(client)["phase"] != "closed":
                sent += await round_of_searches(http)

    asyncio.run(asyncio.wait_for(drive(), timeout))
    return sent


def test_all_unavailable_trips_the_breaker_and_it_is_probed_back(client, node_urls, flaky, operator):
    flaky.set_modes(SUPPLIER, all_unavailable=True)
    # 50 hotels answered "unavailable" in one call: the supplier switched everything off.
    response = client.post("/v1/search", json=search_body(hotels(50, "off"), suppliers=[SUPPLIER], days_ahead=70))
    assert response.status_code == 200
    state = wait_until(lambda: (b := breaker(client))["phase"] == "open" and b, 10, "the breaker to open")
    assert state["reason"] == "all_unavailable"
    assert phases(node_urls, operator) == {"open"}, "every node sees the shared breaker open"
    calls = flaky.stats(SUPPLIER)["accepted"]
    skipped = client.post("/v1/search", json=search_body(hotels(3, "offskip"), suppliers=[SUPPLIER], days_ahead=71))
    assert all(h["suppliers_skipped"] == [SUPPLIER] for h in skipped.json()["hotels"])
    assert flaky.stats(SUPPLIER)["accepted"] == calls, "an open breaker sends the supplier nothing"

    flaky.set_modes(SUPPLIER, all_unavailable=False)
    probes = probe_until_closed(client, node_urls, timeout=60)
    assert breaker(client)["phase"] == "closed"
    assert probes >= 1


def test_booking_failures_trip_the_breaker_and_it_is_probed_back(client, node_urls, flaky, operator, booker):
    found = client.post("/v1/search", json=search_body(hotels(20, "book"), suppliers=[SUPPLIER], days_ahead=80))
    offers = [h for h in found.json()["hotels"] if h["offer"]]
    assert offers, "some of 20 hotels are available"
    hotel = offers[0]
    booking = {"supplier": SUPPLIER, "hotel_id": hotel["hotel_id"], "offer_id": hotel["offer"]["offer_id"]}
    assert client.post("/v1/search/book", json=booking).status_code == 401, "booking needs a customer session"
    assert client.post("/v1/search/book", json=booking, headers=booker).json()["status"] == "confirmed"

    flaky.set_modes(SUPPLIER, booking_fails=True)
    for _ in range(6):
        refused = client.post("/v1/search/book", json=booking, headers=booker)
        assert refused.status_code == 409, refused.text
    state = wait_until(lambda: (b := breaker(client))["phase"] == "open" and b, 10, "the breaker to open")
    assert state["reason"] == "booking_failures"

    flaky.set_modes(SUPPLIER, booking_fails=False)
    probe_until_closed(client, node_urls, timeout=60, booker=booker)  # search successes alone do not close it
    assert phases(node_urls, operator) == {"closed"}
