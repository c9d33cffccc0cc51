"""Holds: held seats are kept from others until the hold expires; cancelling frees seats; a hold
or booking answers only its own customer."""

import uuid

from tests.lab.tickets.conftest import book
from tests.support import wait_until


def seat_status(client, event_id, seat_id):
    seats = client.get(f"/v1/events/{event_id}/seats").json()["seats"]
    return next(s["status"] for s in seats if s["id"] == seat_id)


def confirm(client, session, hold_id):
    headers = {"Idempotency-Key": str(uuid.uuid4()), **session}
    return client.post("/v1/bookings", json={"hold_id": hold_id}, headers=headers)


def test_a_held_seat_is_kept_from_others_and_booked_by_its_hold(client, new_event, session, customer):
    event, seats = new_event()
    hold = client.post("/v1/holds", json={"event_id": event["id"], "seat_ids": seats[:2]}, headers=session)
    assert hold.status_code == 201, hold.text
    assert seat_status(client, event["id"], seats[0]) == "held"
    other = book(client, customer(), event["id"], [seats[0]])
    assert other.status_code == 409 and other.json()["code"] == "seat_taken"

    confirmed = confirm(client, session, hold.json()["id"])
    assert confirmed.status_code == 201, confirmed.text
    assert confirmed.json()["seat_ids"] == seats[:2]
    assert confirm(client, session, hold.json()["id"]).status_code == 409


def test_an_expired_hold_frees_its_seats_and_cannot_be_booked(client, new_event, session):
    event, seats = new_event()
    hold = client.post(
        "/v1/holds", json={"event_id": event["id"], "seat_ids": [seats[3]], "seconds": 2}, headers=session
    ).json()
    assert seat_status(client, event["id"], seats[3]) == "held"

    wait_until(lambda: seat_status(client, event["id"], seats[3]) == "available", 10, "the hold to expire")

    late = confirm(client, session, hold["id"])
    assert late.status_code == 409 and late.json()["code"] == "hold_expired"
    assert book(client, session, event["id"], [seats[3]]).status_code == 201


def test_cancelling_a_booking_releases_its_seats_for_sale(client, new_event, session):
    event, seats = new_event()
    booking = book(client, session, event["id"], seats[:3]).json()
    cancelled = client.post(f"/v1/bookings/{booking['id']}/cancel", headers=session)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert client.post(f"/v1/bookings/{booking['id']}/cancel", headers=session).json()["status"] == "cancelled"
    assert seat_status(client, event["id"], seats[0]) == "available"
    assert book(client, session, event["id"], seats[:3]).status_code == 201


def test_a_hold_belongs_to_its_customer_in_any_of_their_sessions(client, new_event, customer):
    event, seats = new_event()
    alice = customer("alice@example.org")
    hold = client.post("/v1/holds", json={"event_id": event["id"], "seat_ids": [seats[0]]}, headers=alice).json()
    stranger = confirm(client, customer(), hold["id"])
    assert stranger.status_code == 403 and stranger.json()["code"] == "forbidden"
    # Alice on another device (a second session): her hold is hers.
    owner = confirm(client, customer("alice@example.org"), hold["id"])
    assert owner.status_code == 201 and owner.json()["customer"] == "alice@example.org"


def test_a_booking_is_read_and_cancelled_only_by_its_customer(client, new_event, session, customer):
    event, seats = new_event()
    booking = book(client, session, event["id"], [seats[5]]).json()
    stranger = customer()
    assert client.get(f"/v1/bookings/{booking['id']}", headers=stranger).status_code == 403
    assert client.post(f"/v1/bookings/{booking['id']}/cancel", headers=stranger).status_code == 403
    assert client.get(f"/v1/bookings/{booking['id']}").status_code == 401
    assert client.get(f"/v1/bookings/{booking['id']}", headers=session).json()["status"] == "confirmed"
    assert seat_status(client, event["id"], seats[5]) == "sold", "a refused cancel released nothing"


def test_buying_needs_a_session(client, new_event):
    event, seats = new_event()
    anonymous = client.post(
        "/v1/bookings", json={"event_id": event["id"], "seat_ids": [seats[6]]}, headers={"Idempotency-Key": "anon"}
    )
    assert anonymous.status_code == 401 and set(anonymous.json()) == {"code", "detail"}
    assert client.post("/v1/holds", json={"event_id": event["id"], "seat_ids": [seats[6]]}).status_code == 401
    assert seat_status(client, event["id"], seats[6]) == "available"
