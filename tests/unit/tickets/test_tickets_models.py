"""Request validation: malformed bodies are refused with a reason (answered 422)."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from app.tickets.models import BookingCreate, EventCreate, HoldCreate, SectorPlan


def event(**overrides):
    body = {
        "city_id": 1,
        "venue": "Luzhniki",
        "title": "Concert",
        "starts_at": datetime(2026, 12, 31, 19, tzinfo=UTC),
        "sectors": [{"name": "A", "rows": 10, "seats_per_row": 10, "price": "50.00"}],
    }
    return EventCreate.model_validate(body | overrides)


def test_a_valid_event_is_accepted():
    assert event().sectors[0] == SectorPlan(name="A", rows=10, seats_per_row=10, price="50.00")


def test_naive_start_times_are_refused():
    with pytest.raises(ValidationError, match="timezone"):
        event(starts_at=datetime(2026, 12, 31, 19))


def test_events_are_bounded_in_size():
    with pytest.raises(ValidationError, match="at most 5000 seats"):
        event(sectors=[{"name": "A", "rows": 100, "seats_per_row": 100, "price": 1}])


def test_duplicate_sector_names_are_refused():
    sector = {"name": "A", "rows": 1, "seats_per_row": 1, "price": 1}
    with pytest.raises(ValidationError, match="unique"):
        event(sectors=[sector, sector])


def test_seat_lists_are_distinct_and_sorted_so_locks_are_taken_in_order():
    assert HoldCreate(event_id=1, seat_ids=[5, 2, 9]).seat_ids == [2, 5, 9]
    assert BookingCreate(event_id=1, seat_ids=[3, 1]).seat_ids == [1, 3]
    with pytest.raises(ValidationError, match="distinct"):
        HoldCreate(event_id=1, seat_ids=[1, 1])


def test_orders_are_bounded():
    with pytest.raises(ValidationError):
        BookingCreate(event_id=1, seat_ids=list(range(1, 12)))


def test_unknown_fields_are_refused():
    with pytest.raises(ValidationError):
        BookingCreate.model_validate({"event_id": 1, "seat_ids": [1], "price": 0})
