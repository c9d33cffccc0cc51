"""Holds: held seats are kept from others until the hold expires; cancelling frees seats."""

import uuid

from tests.lab.tickets.conftest import book
from tests.support import wait_until


def seat_status(client, event_id, seat_id):
    seats = client.get(f"/v1/events/{event_id}/seats").json()["seats"]
    return next(s["status"] for s in seats if s["id"] == seat_id)


def test_a_held_seat_is_kept_from_others_and_booked_by_its_hold(client, new_event):
    event, seats = new_event()
    hold = client.post("/v1/holds", json={"event_id": event["id"], "seat_ids": seats[:2]})
    assert hold.status_code == 201, hold.text
    assert seat_status(client, event["id"], seats[0]) == "held"
    other = book(client, event["id"], [seats[0]])
    assert other.status_code == 409 and other.json()["code"] == "seat_taken"

    confirmed = client.post(
        "/v1/bookings", json={"hold_id": hold.json()["id"]}, headers={"Idempotency-Key": str(uuid.uuid4())}
    )
    assert confirmed.status_code == 201, confirmed.text
    assert confirmed.json()["seat_ids"] == seats[:2]
    again = client.post(
        "/v1/bookings", json={"hold_id": hold.json()["id"]}, headers={"Idempotency-Key": str(uuid.uuid4())}
    )
    assert again.status_code == 409


def test_an_expired_hold_frees_its_seats_and_cannot_be_booked(client, new_event):
    event, seats = new_event()
    hold = client.post("/v1/holds", json={"event_id": event["id"], "seat_ids": [seats[3]], "seconds": 2}).json()
    assert seat_status(client, event["id"], seats[3]) == "held"

    wait_until(lambda: seat_status(client, event["id"], seats[3]) == "available", 10, "the hold to expire")

    late = client.post("/v1/bookings", json={"hold_id": hold["id"]}, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert late.status_code == 409 and late.json()["code"] == "hold_expired"
    assert book(client, event["id"], [seats[3]]).status_code == 201


def test_cancelling_a_booking_releases_its_seats_for_sale(client, new_event):
    event, seats = new_event()
    booking = book(client, event["id"], seats[:3]).json()
    cancelled = client.post(f"/v1/bookings/{booking['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert client.post(f"/v1/bookings/{booking['id']}/cancel").json()["status"] == "cancelled"  # same answer
    assert seat_status(client, event["id"], seats[0]) == "available"
    assert book(client, event["id"], seats[:3]).status_code == 201


def test_a_hold_made_in_a_session_belongs_to_it(client, new_event):
    event, seats = new_event()
    session = client.post("/v1/sessions", json={"customer": "alice@example.org"}).json()
    hold = client.post(
        "/v1/holds", json={"event_id": event["id"], "seat_ids": [seats[0]]}, headers={"X-Session-Id": session["id"]}
    ).json()
    stranger = client.post("/v1/bookings", json={"hold_id": hold["id"]}, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert stranger.status_code == 403
    owner = client.post(
        "/v1/bookings",
        json={"hold_id": hold["id"]},
        headers={"Idempotency-Key": str(uuid.uuid4()), "X-Session-Id": session["id"]},
    )
    assert owner.status_code == 201 and owner.json()["customer"] == "alice@example.org"
