"""A retried purchase is the same purchase: 20 concurrent requests with one key, one booking."""

import asyncio
import uuid

import httpx

from roadie.services import internal_tls
from tests.lab.tickets.conftest import book


async def same_key_twenty_times(lb_url, session, event_id, seat_ids, key):
    async with httpx.AsyncClient(base_url=lb_url, timeout=30, verify=internal_tls.http_verify()) as http:
        return await asyncio.gather(
            *[
                http.post(
                    "/v1/bookings",
                    json={"event_id": event_id, "seat_ids": seat_ids},
                    headers={"Idempotency-Key": key, **session},
                )
                for _ in range(20)
            ]
        )


def test_twenty_concurrent_requests_with_one_key_make_one_booking(lb_url, new_event, shard_db, session):
    event, seats = new_event()
    key = str(uuid.uuid4())

    responses = asyncio.run(same_key_twenty_times(lb_url, session, event["id"], seats[:2], key))

    assert sorted(r.status_code for r in responses) == [200] * 19 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert all(r.headers.get("Idempotent-Replayed") == "true" for r in responses if r.status_code == 200)
    count = shard_db("msk").execute("SELECT count(*) AS n FROM bookings WHERE idempotency_key = %s", (key,)).fetchone()
    assert count["n"] == 1


def test_a_key_reused_for_another_order_is_refused(client, new_event, session):
    event, seats = new_event()
    key = str(uuid.uuid4())
    assert book(client, session, event["id"], [seats[0]], key).status_code == 201
    reused = book(client, session, event["id"], [seats[1]], key)
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"


def test_a_booking_without_a_key_is_refused_with_the_reason(client, new_event, session):
    event, seats = new_event()
    response = client.post("/v1/bookings", json={"event_id": event["id"], "seat_ids": [seats[0]]}, headers=session)
    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_missing"
