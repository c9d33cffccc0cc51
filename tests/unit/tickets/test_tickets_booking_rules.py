"""Pure rules of bookings: idempotency keys, request fingerprints, seat states, event counters."""

from decimal import Decimal

import pytest

from app.tickets import errors
from app.tickets.booking import request_fingerprint, validate_idempotency_key
from app.tickets.consumer import Delivery, counter_delta, notification
from app.tickets.models import BookingCreate
from app.tickets.outbox import message_id
from app.tickets.seatstate import SeatState, effective_status


def test_missing_or_blank_idempotency_key_is_a_client_error():
    for key in (None, "", "   "):
        with pytest.raises(errors.MissingIdempotencyKey):
            validate_idempotency_key(key)


def test_overlong_or_unprintable_idempotency_keys_are_refused():
    with pytest.raises(errors.Invalid):
        validate_idempotency_key("k" * 201)
    with pytest.raises(errors.Invalid):
        validate_idempotency_key("a\nb")
    assert validate_idempotency_key("3f1c-uuid") == "3f1c-uuid"


def test_fingerprint_is_the_same_for_a_retry_and_differs_for_another_order():
    first = request_fingerprint(BookingCreate(event_id=1, seat_ids=[2, 1]), None)
    assert first == request_fingerprint(BookingCreate(event_id=1, seat_ids=[1, 2]), None)
    assert first != request_fingerprint(BookingCreate(event_id=1, seat_ids=[1, 3]), None)
    assert first != request_fingerprint(BookingCreate(event_id=1, seat_ids=[1, 2]), "session")


def test_an_expired_hold_is_an_available_seat():
    assert effective_status("held", 100.0, now=99.0) == "held"
    assert effective_status("held", 100.0, now=100.0) == "available"
    assert effective_status("sold", None, now=1e12) == "sold"


def test_seat_states_round_trip_through_the_cache_format():
    state = SeatState(7, "held", 1700000000.5)
    assert SeatState.decode(f"{state.version}|{state.encode()}") == state
    assert SeatState.decode("3|available|") == SeatState(3, "available", None)


def test_cancellations_subtract_from_the_counters():
    confirmed = {"type": "booking.confirmed", "tickets": 2, "amount": "150.50", "booking_id": 9}
    assert counter_delta(confirmed) == (2, Decimal("150.50"))
    assert counter_delta(confirmed | {"type": "booking.cancelled"}) == (-2, Decimal("-150.50"))
    assert "booking 9 confirmed" in notification(confirmed)


def test_message_ids_name_shard_and_outbox_row():
    assert message_id("msk", 42) == "msk:42"


class _Method:
    delivery_tag = 7


class _Props:
    def __init__(self, message_id):
        self.message_id = message_id


def test_deliveries_that_are_not_booking_events_are_recognised():
    good = b'{"type": "booking.confirmed", "tickets": 1, "amount": "5.00", "booking_id": 3, "event_id": 4}'
    assert Delivery.of(_Method, _Props("msk:1"), good).payload["booking_id"] == 3
    assert Delivery.of(_Method, _Props(None), good).payload is None
    assert Delivery.of(_Method, _Props("msk:2"), b"not json").payload is None
    assert Delivery.of(_Method, _Props("msk:3"), good.replace(b'"5.00"', b'"five"')).payload is None
