"""Reads are cached in Redis and booking writes seat states through: no stale seat map."""

from redis.sentinel import Sentinel

from app.tickets.cache import event_key, seats_key
from roadie.services import internal_tls
from tests.lab.tickets.conftest import book
from tests.support import wait_until


def redis_master(app_settings):
    r = app_settings.redis
    sentinel = Sentinel(
        [(s.host, s.port) for s in r.sentinels],
        sentinel_kwargs={"password": r.sentinel_password, "socket_timeout": 2, **internal_tls.redis_options()},
        username=r.user,
        password=r.password,
        socket_timeout=2,
        **internal_tls.redis_options(),
    )
    return sentinel.master_for(r.master_name, decode_responses=True)


def test_reading_an_event_fills_the_cache(client, new_event, app_settings):
    event, _ = new_event()
    redis = redis_master(app_settings)
    redis.delete(event_key(event["id"]), seats_key(event["id"]))
    assert client.get(f"/v1/events/{event['id']}").status_code == 200
    assert redis.exists(event_key(event["id"]), seats_key(event["id"])) == 2
    assert 0 < redis.ttl(seats_key(event["id"])) <= app_settings.tickets.cache_ttl_seconds


def test_a_booking_shows_in_the_cached_seat_map_at_once(client, new_event, app_settings, session):
    event, seats = new_event()
    before = client.get(f"/v1/events/{event['id']}").json()
    assert before["seats_available"] == 10

    assert book(client, session, event["id"], seats[:4]).status_code == 201

    redis = redis_master(app_settings)
    cached = redis.hmget(seats_key(event["id"]), [str(s) for s in seats[:4]])
    assert all(value.split("|")[1] == "sold" for value in cached), cached
    assert client.get(f"/v1/events/{event['id']}").json()["seats_available"] == 6
    statuses = {s["id"]: s["status"] for s in client.get(f"/v1/events/{event['id']}/seats").json()["seats"]}
    assert [statuses[s] for s in seats[:5]] == ["sold"] * 4 + ["available"]


def test_a_cancellation_shows_in_the_cached_seat_map_at_once(client, new_event, session):
    event, seats = new_event()
    booking = book(client, session, event["id"], [seats[0]]).json()
    client.get(f"/v1/events/{event['id']}/seats")  # cached with the seat sold
    client.post(f"/v1/bookings/{booking['id']}/cancel", headers=session)
    assert client.get(f"/v1/events/{event['id']}").json()["seats_available"] == 10


def test_a_new_event_appears_in_its_citys_listing_within_the_cache_ttl(client, new_event, app_settings):
    event, _ = new_event()
    day = event["starts_at"][:10]
    params = {"city_id": event["city_id"], "from": day, "to": day, "limit": 200}

    def listed():
        response = client.get("/v1/events", params=params)
        assert response.status_code == 200
        return event["id"] in {e["id"] for e in response.json()}

    # Listings are eventually consistent: cached for the listing TTL (plus a node's 1 s micro-cache).
    wait_until(listed, app_settings.tickets.listing_cache_ttl_seconds + 5, "the event in the listing", interval=0.5)
