"""Every checker over one drill's history: what the drill result and report are built from.

Which checkers apply follows from the history: each workload's writes get the set checker
(against the final read of that workload), bookings also get the per-seat and idempotency
checkers, every workload gets availability and the lower bounds, and the split-brain checker
runs when the writable-primaries sampler ran.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from roadie.checker.availability import AvailabilityResult, check_availability
from roadie.checker.bounds import BoundsResult, check_bounds
from roadie.checker.history import BOOK, WRITES, Op, Sample
from roadie.checker.idempotency import IdempotencyResult, check_idempotency
from roadie.checker.seats import LiveBooking, SeatResult, check_seats
from roadie.checker.sets import SetResult, by_idempotency_key, by_key, check_set
from roadie.checker.splitbrain import SplitBrainResult, check_split_brain
from roadie.checker.verdict import Verdict


@dataclass(frozen=True)
class FinalReads:
    """What the drill read back after healing: each write workload's elements present (row
    keys, Redis keys, messages; Idempotency-Keys of confirmed bookings), and the live bookings."""

    elements: Mapping[str, frozenset[str]]
    live_bookings: tuple[LiveBooking, ...] = ()


@dataclass(frozen=True)
class DrillCheck:
    sets: tuple[SetResult, ...]
    seats: tuple[SeatResult, ...]
    idempotency: tuple[IdempotencyResult, ...]
    availability: tuple[AvailabilityResult, ...]
    bounds: tuple[BoundsResult, ...]
    split_brain: SplitBrainResult | None  # None: no sampler ran

    def verdicts(self) -> tuple[Verdict, ...]:
        results: list[SetResult | SeatResult | IdempotencyResult | AvailabilityResult | BoundsResult] = [
            *self.sets,
            *self.seats,
            *self.idempotency,
            *self.availability,
            *self.bounds,
        ]
        verdicts = [r.verdict() for r in results]
        if self.split_brain is not None:
            verdicts.append(self.split_brain.verdict())
        return tuple(verdicts)

    @property
    def valid(self) -> bool:
        return all(v.valid for v in self.verdicts())


def check_drill(
    history: Sequence[Op],
    samples: Sequence[Sample] | None,
    finals: FinalReads,
    *,
    fault_at: float,
    recovered_at: float | None,
    waited_s: float,
) -> DrillCheck:
    """Times are monotonic; `samples` None when the drill had no writable-primaries sampler.
    Every write workload needs its final read (KeyError otherwise): an unread write cannot pass."""
    workloads = sorted({op.workload for op in history})
    writes = [w for w in workloads if any(op.workload == w and op.f in WRITES for op in history)]
    bookings = [w for w in writes if any(op.workload == w and op.f == BOOK for op in history)]
    return DrillCheck(
        sets=tuple(
            check_set(history, finals.elements[w], w, by_idempotency_key if w in bookings else by_key) for w in writes
        ),
        seats=tuple(check_seats(history, finals.live_bookings, w) for w in bookings),
        idempotency=tuple(check_idempotency(history, w) for w in bookings),
        availability=tuple(check_availability(history, w) for w in writes),
        bounds=tuple(
            check_bounds(history, w, fault_at=fault_at, recovered_at=recovered_at, waited_s=waited_s) for w in workloads
        ),
        split_brain=None if samples is None else check_split_brain(samples),
    )
