"""The per-seat checker: no seat ever has two live bookings.

Checked twice, because each view can hide what the other shows: the final database state
(a double sale still there), and the history (two acknowledged bookings of one seat with no
acknowledged cancel between them, a double sale even if the database shows only one now,
e.g. after a failover lost one of them). Operations are ordered by completion time, so a
cancel that completed after the second booking does not excuse it: the checker errs towards
reporting, never towards hiding.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from roadie.checker.history import BOOK, CANCEL, Op
from roadie.checker.verdict import SOLD_TWICE_HISTORY, SOLD_TWICE_STATE, Anomaly, Verdict


@dataclass(frozen=True)
class LiveBooking:
    """A confirmed booking in the final read, with the seats it still holds."""

    booking: int
    seats: tuple[int, ...]


@dataclass(frozen=True)
class SeatResult:
    workload: str
    seats_booked: int
    sold_twice_state: tuple[int, ...]  # seats with two live bookings in the final state
    sold_twice_history: tuple[int, ...]  # seats acknowledged to two bookings with no cancel between

    @property
    def sold_twice(self) -> int:
        return len(set(self.sold_twice_state) | set(self.sold_twice_history))

    def verdict(self) -> Verdict:
        anomalies = [Anomaly(SOLD_TWICE_STATE, f"seat {seat}") for seat in self.sold_twice_state]
        anomalies += [Anomaly(SOLD_TWICE_HISTORY, f"seat {seat}") for seat in self.sold_twice_history]
        summary = f"{self.seats_booked} seats booked, {self.sold_twice} sold twice"
        return Verdict("per seat", self.workload, summary, tuple(anomalies))


def check_seats(history: Iterable[Op], final: Iterable[LiveBooking], workload: str) -> SeatResult:
    holders: dict[int, set[int]] = {}
    for live in final:
        for seat in live.seats:
            holders.setdefault(seat, set()).add(live.booking)
    doubles_state = {seat for seat, bookings in holders.items() if len(bookings) > 1}
    return SeatResult(
        workload=workload,
        seats_booked=len(holders),
        sold_twice_state=tuple(sorted(doubles_state)),
        sold_twice_history=tuple(sorted(_doubles_in_history(history, workload))),
    )


def _doubles_in_history(history: Iterable[Op], workload: str) -> set[int]:
    acked = sorted(
        (op for op in history if op.workload == workload and op.type == "ok" and op.f in (BOOK, CANCEL)),
        key=lambda op: op.at,
    )
    live: dict[int, int] = {}  # seat -> the booking that holds it
    doubles: set[int] = set()
    for op in acked:
        for seat in op.value.seats:
            holder = live.get(seat)
            if op.f == CANCEL:
                if holder == op.value.booking:
                    del live[seat]
            elif holder is not None and holder != op.value.booking:
                doubles.add(seat)
            elif op.value.booking is not None:
                # The same booking answered again (an idempotent retry) is one sale.
                live[seat] = op.value.booking
    return doubles
