"""A burst of searches against a supplier that takes 10 calls per 10 s: the search nodes share
one limit, so the supplier never answers 429."""

import asyncio

import httpx

from tests.lab.search.conftest import hotels, search_body


def test_burst_records_no_over_limit_calls_at_the_supplier(client, node_urls, sim):
    urls = list(node_urls.values())
    # 40 different stays: 40 batch keys, so nothing merges and the limit has to hold them back.
    bodies = [
        search_body(hotels(1, f"burst{i}"), suppliers=["limited"], days_ahead=100 + i, nights=2) for i in range(40)
    ]
    before = sim.stats("limited")

    async def burst():
        async with httpx.AsyncClient(timeout=20) as http:
            return await asyncio.gather(
                *(http.post(f"{urls[i % len(urls)]}/v1/search", json=b) for i, b in enumerate(bodies))
            )

    responses = asyncio.run(burst())
    assert all(r.status_code == 200 for r in responses)
    after = sim.stats("limited")
    skipped = sum(1 for r in responses if r.json()["hotels"][0]["suppliers_skipped"])
    accepted = after["accepted"] - before["accepted"]
    assert after["over_limit"] - before["over_limit"] == 0, "the supplier answered 429"
    assert accepted <= 10, f"{accepted} calls reached a supplier that takes 10 per 10 s"
    assert skipped >= 30, "searches over the limit answer without that supplier instead of waiting"
