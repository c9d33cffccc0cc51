"""Outcome counts for circuit breakers, and a time-bucketed sliding window of them.

``Counts`` is what a breaker decides on: supplier calls and how they ended, the hotels answered
available or unavailable, and bookings of offers the supplier showed as available. Windows are
split into buckets so old outcomes fall out without storing each one; the shared (Redis) breaker
keeps the same buckets as Redis hashes, one per bucket, with the same field names.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from enum import StrEnum


class CallOutcome(StrEnum):
    SUCCESS = "success"
    ERROR = "error"
    TIMEOUT = "timeout"


@dataclass(frozen=True, slots=True)
class Counts:
    calls: int = 0
    errors: int = 0
    timeouts: int = 0
    available: int = 0  # hotels answered with at least one offer
    unavailable: int = 0  # hotels answered "unavailable"
    bookings: int = 0
    booking_failures: int = 0

    @classmethod
    def call(cls, outcome: CallOutcome, available: int = 0, unavailable: int = 0) -> Counts:
        return cls(
            calls=1,
            errors=int(outcome is CallOutcome.ERROR),
            timeouts=int(outcome is CallOutcome.TIMEOUT),
            available=available,
            unavailable=unavailable,
        )

    @classmethod
    def booking(cls, ok: bool) -> Counts:
        return cls(bookings=1, booking_failures=int(not ok))

    @classmethod
    def from_fields(cls, values: Mapping[str | bytes, str | bytes | int]) -> Counts:
        """From a Redis hash (field names as ``str`` or ``bytes``); unknown fields are ignored."""
        known = {f.name for f in fields(cls)}
        parsed: dict[str, int] = {}
        for name, value in values.items():
            text = name.decode() if isinstance(name, bytes) else name
            if text in known:
                parsed[text] = int(value)
        return cls(**parsed)

    def to_fields(self) -> dict[str, int]:
        return {name: value for name, value in asdict(self).items() if value}

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(a + b for a, b in zip(_values(self), _values(other), strict=True)))

    @property
    def failures(self) -> int:
        return self.errors + self.timeouts

    @property
    def failure_rate(self) -> float:
        return self.failures / self.calls if self.calls else 0.0

    @property
    def success_rate(self) -> float | None:
        """Share of calls that answered (None without calls)."""
        return (self.calls - self.failures) / self.calls if self.calls else None

    @property
    def answers(self) -> int:
        """Hotels answered, available or not."""
        return self.available + self.unavailable

    @property
    def unavailable_share(self) -> float:
        return self.unavailable / self.answers if self.answers else 0.0

    @property
    def booking_failure_rate(self) -> float:
        return self.booking_failures / self.bookings if self.bookings else 0.0


def _values(counts: Counts) -> tuple[int, ...]:
    return tuple(getattr(counts, f.name) for f in fields(counts))


def bucket_number(now: float, bucket_seconds: float) -> int:
    return math.floor(now / bucket_seconds)


class SlidingCounts:
    """Counts over the last ``window`` seconds, kept in ``buckets`` equal buckets (in process)."""

    def __init__(self, window: float, buckets: int = 10) -> None:
        if window <= 0 or buckets < 1:
            raise ValueError(f"need window > 0 and buckets >= 1 (got {window}, {buckets})")
        self.window = window
        self.bucket_seconds = window / buckets
        self._buckets: dict[int, Counts] = {}

    def add(self, now: float, counts: Counts) -> None:
        number = bucket_number(now, self.bucket_seconds)
        self._buckets[number] = self._buckets.get(number, Counts()) + counts
        oldest = number - self.numbers_back()
        for stale in [n for n in self._buckets if n < oldest]:
            del self._buckets[stale]

    def total(self, now: float, since: float = -math.inf) -> Counts:
        """Counts of the buckets in the window that started at or after ``since``."""
        total = Counts()
        for number in self.numbers(now, since):
            total += self._buckets.get(number, Counts())
        return total

    def numbers(self, now: float, since: float = -math.inf) -> list[int]:
        """Bucket numbers in the window ending at ``now`` (the current bucket included)."""
        current = bucket_number(now, self.bucket_seconds)
        first = current - self.numbers_back()
        if since > -math.inf:
            first = max(first, math.ceil(since / self.bucket_seconds))
        return list(range(first, current + 1))

    def numbers_back(self) -> int:
        return max(0, round(self.window / self.bucket_seconds) - 1)
