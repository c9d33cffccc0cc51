"""What an answer of the ticketing app counts as in a benchmark (pure: tested on known-bad answers).

A booking counts as confirmed only when the app answered 201 with a booking body for the very
seat asked; 409s (seat taken), other refusals, 5xx and bodies that are not the booking are
counted apart, never as bookings. A listing counts only when its body is the one checked
against the database before the phase.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from roadie.bench.load import OK

CONFIRMED = OK
REPLAYED = "200 replay of an earlier booking"
CONFLICT = "409 seat taken"
REJECTED = "other 4xx"
SERVER_ERROR = "5xx"
NOT_A_BOOKING = "2xx without the booking asked for"
WRONG_BODY = "200 with another body"


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def is_booking_of(body: bytes, seat: int) -> bool:
    """The body is a confirmed booking of exactly this one seat."""
    booking = _json(body)
    return (
        isinstance(booking, dict)
        and isinstance(booking.get("id"), int)
        and booking.get("status") == "confirmed"
        and booking.get("seat_ids") == [seat]
    )


class BookingJudge:
    """Request n bought seats[n]: is the answer that booking?"""

    def __init__(self, seats: Sequence[int]) -> None:
        self._seats = seats

    def __call__(self, n: int, status: int, body: bytes) -> str:
        if status in (200, 201):
            if not is_booking_of(body, self._seats[n]):
                return NOT_A_BOOKING
            # Every request carries a key of its own: a 200 replay means a key was reused.
            return CONFIRMED if status == 201 else REPLAYED
        if status == 409:
            return CONFLICT
        if 400 <= status < 500:
            return REJECTED
        if status >= 500:
            return SERVER_ERROR
        return f"HTTP {status}"


class ListingJudge:
    """The answer is the listing checked before the phase, byte for byte."""

    def __init__(self, expected: bytes) -> None:
        self._expected = expected

    def __call__(self, _n: int, status: int, body: bytes) -> str:
        if status != 200:
            return f"HTTP {status}"
        return OK if body == self._expected else WRONG_BODY


def listing_problems(
    body: bytes, *, city_id: int, day: date, limit: int, truth: Sequence[int], own: Sequence[int]
) -> list[str]:
    """Why a listing is not the events asked for (empty: it is).

    `truth`: the ids the database lists for that city and day, in order, at most `limit`;
    `own`: the events this run created on that day: listed, unless the day holds `limit` others.
    """
    events = _json(body)
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        return [f"not a JSON list of events: {body[:120]!r}"]
    problems = []
    if not events:
        problems.append("the listing is empty")
    ids = [e.get("id") for e in events]
    if ids != list(truth):
        problems.append(f"ids {ids[:5]} (first 5) differ from the database's {list(truth)[:5]}")
    missing = sorted(set(own) - set(ids))
    if missing and len(ids) < limit:
        problems.append(f"this run's events {missing[:5]} are not listed")
    for e in events:
        if e.get("city_id") != city_id:
            problems.append(f"event {e.get('id')} is in city {e.get('city_id')}, not {city_id}")
        starts = str(e.get("starts_at", ""))
        try:
            on: date | None = datetime.fromisoformat(starts.replace("Z", "+00:00")).date()
        except ValueError:
            on = None
        if on != day:
            problems.append(f"event {e.get('id')} starts {starts!r}, not on {day.isoformat()}")
    return problems
