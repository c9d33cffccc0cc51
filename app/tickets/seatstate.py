"""A seat's state as cached: "version|status|held_until" (pure functions, no I/O).

A hold is not released by a background job: a seat held until a past instant simply counts as
available, in the database and in the cache alike.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SeatState:
    version: int
    status: str
    held_until: float | None  # epoch seconds

    def encode(self) -> str:
        until = "" if self.held_until is None else f"{self.held_until:.3f}"
        return f"{self.status}|{until}"

    @classmethod
    def decode(cls, value: str) -> SeatState:
        version, status, until = value.split("|", 2)
        return cls(int(version), status, float(until) if until else None)

    def effective(self, now: float) -> str:
        """What a buyer sees now: an expired hold is an available seat."""
        if self.status == "held" and (self.held_until is None or self.held_until <= now):
            return "available"
        return self.status


def effective_status(status: str, held_until: float | None, now: float) -> str:
    return SeatState(0, status, held_until).effective(now)
