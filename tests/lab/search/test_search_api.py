"""The search API through the load balancer: answers, sources and ages, clear 4xx errors, and
every node stating the active offer store backend."""

from datetime import UTC, datetime, timedelta

import httpx

from tests.lab.search.conftest import hotels, search_body


def test_every_node_states_the_active_offer_store_backend(client, node_urls, operator):
    for name, url in node_urls.items():
        stats = httpx.get(f"{url}/v1/search/stats", headers=operator, timeout=10).json()
        assert stats["node"] == name
        assert stats["offer_store"]["backend"] == "redis", "the lab runs the Redis offer store (no Aerospike)"
        # A scalable filter's first generation takes a quarter of the target (two buckets per
        # lookup, tightening 1/2 per generation): ~22 bits per key at 0.01 %.
        assert stats["negative_cache"]["bits_per_key"] <= 23
        assert sorted(stats["membership"]["nodes"]) == sorted(node_urls)


def test_second_search_is_answered_from_the_cache_with_its_age(client):
    body = search_body(hotels(6, "cache"), suppliers=["fast", "flaky"], days_ahead=45, nights=7)
    first = client.post("/v1/search", json=body)
    assert first.status_code == 200, first.text
    priced = [h for h in first.json()["hotels"] if h["offer"]]
    assert priced, "some of six hotels have an offer from one of two suppliers"
    assert all(h["source"] == "supplier" for h in priced)
    second = client.post("/v1/search", json=body).json()
    again = {h["hotel_id"]: h for h in second["hotels"]}
    for hotel in priced:
        cached = again[hotel["hotel_id"]]
        assert cached["source"] == "cache"
        assert cached["offer"] == hotel["offer"], "the same price, from the cache"
        assert cached["age_seconds"] >= 0
        assert cached["supplier"] in {"fast", "flaky"}


def test_invalid_searches_get_clear_4xx_answers(client):
    valid = search_body(hotels(1, "bad"), suppliers=["fast"])
    yesterday = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    cases = {
        "nights": ({**valid, "nights": 31}, 422, "nights must be 1 to 30"),
        "past": ({**valid, "checkin": yesterday}, 422, "is in the past"),
        "rooms": ({**valid, "occupancy": {"rooms": [{"adults": 1}] * 9}}, 422, "1 to 8 rooms"),
        "child age": ({**valid, "occupancy": {"rooms": [{"adults": 1, "children_ages": [18]}]}}, 422, "ages"),
        "supplier": ({**valid, "suppliers": ["nobody"]}, 422, "unknown ['nobody']"),
        "both": ({**valid, "city": "antalya"}, 422, "either hotel_ids or city"),
    }
    for name, (body, status, message) in cases.items():
        response = client.post("/v1/search", json=body)
        assert response.status_code == status, (name, response.text)
        assert message in response.text, (name, response.text)
    neither = {k: v for k, v in valid.items() if k != "hotel_ids"}
    response = client.post("/v1/search", json=neither)
    assert response.status_code == 422 and "either hotel_ids or city" in response.text, response.text
    response = client.post("/v1/search", json=neither | {"city": "atlantis"})
    assert response.status_code == 404 and "unknown city 'atlantis'" in response.text, response.text
