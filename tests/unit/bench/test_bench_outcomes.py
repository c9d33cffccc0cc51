"""What counts as a booking and as the listing asked for, on known-good and known-bad answers."""

import json
from datetime import date

from roadie.bench.load import LoadResult
from roadie.bench.outcomes import (
    CONFIRMED,
    CONFLICT,
    NOT_A_BOOKING,
    REJECTED,
    REPLAYED,
    SERVER_ERROR,
    WRONG_BODY,
    BookingJudge,
    ListingJudge,
    listing_problems,
)

SEATS = [101, 102, 103]


def booking(seat: int, status: str = "confirmed") -> bytes:
    return json.dumps({"id": 9000 + seat, "event_id": 1, "status": status, "seat_ids": [seat]}).encode()


def test_a_booking_counts_only_as_the_booking_asked_for():
    judge = BookingJudge(SEATS)
    assert judge(0, 201, booking(101)) == CONFIRMED
    assert judge(1, 201, booking(101)) == NOT_A_BOOKING  # another seat than request 1 asked for
    assert judge(0, 201, booking(101, status="cancelled")) == NOT_A_BOOKING
    assert judge(0, 201, b"<html>proxy page</html>") == NOT_A_BOOKING
    assert judge(0, 200, booking(101)) == REPLAYED
    assert judge(2, 409, b'{"code":"seat_taken"}') == CONFLICT
    assert judge(2, 422, b"{}") == REJECTED
    assert judge(2, 503, b"{}") == SERVER_ERROR


def test_all_409s_are_zero_confirmed_bookings_and_no_latency():
    judge = BookingJudge(SEATS)
    result = LoadResult(duration=10.0)
    for n in range(3):
        result.add(judge(n, 409, b'{"code":"seat_taken"}'), 0.002)
    assert result.ok == 0 and result.count(CONFLICT) == 3
    assert result.rate() == 0.0
    assert result.percentile_ms(95) is None


def test_a_listing_counts_only_with_the_body_checked_before():
    judge = ListingJudge(b'[{"id":1}]')
    assert judge(0, 200, b'[{"id":1}]') == CONFIRMED
    assert judge(0, 200, b"[]") == WRONG_BODY
    assert judge(0, 503, b'[{"id":1}]') == "HTTP 503"


DAY = date(2027, 1, 2)


def event(event_id: int, city: int = 1, starts: str = "2027-01-02T20:00:00Z") -> dict:
    return {"id": event_id, "city_id": city, "venue": "v", "title": "t", "starts_at": starts, "status": "active"}


def problems(events: object, truth: list[int], own: list[int], limit: int = 20) -> list[str]:
    body = json.dumps(events).encode()
    return listing_problems(body, city_id=1, day=DAY, limit=limit, truth=truth, own=own)


def test_the_listing_of_the_benchs_own_events_passes():
    assert problems([event(5), event(7)], truth=[5, 7], own=[7]) == []
    # A full day may list other events only: the run's own are past the limit.
    assert problems([event(1), event(2)], truth=[1, 2], own=[9], limit=2) == []


def test_listings_that_are_not_the_events_asked_for_fail():
    # The old benchmark's listing: a year range, dated before the bench's events: empty.
    assert "the listing is empty" in problems([], truth=[5], own=[5])
    assert any("differ" in p for p in problems([event(5)], truth=[5, 7], own=[5, 7]))
    assert any("not listed" in p for p in problems([event(5)], truth=[5], own=[5, 7]))
    assert any("city 2" in p for p in problems([event(5, city=2)], truth=[5], own=[5]))
    assert any("not on 2027-01-02" in p for p in problems([event(5, starts="2026-06-01T20:00:00Z")], [5], [5]))
    assert problems({"detail": "nope"}, truth=[5], own=[5])[0].startswith("not a JSON list")
