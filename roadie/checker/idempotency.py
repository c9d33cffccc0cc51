"""The idempotency checker: every acknowledged answer for one Idempotency-Key names the same
booking. A retry with the same key must return the first booking, never make a second."""

from collections.abc import Iterable
from dataclasses import dataclass

from roadie.checker.history import BOOK, Op
from roadie.checker.verdict import TWO_ANSWERS_ONE_KEY, Anomaly, Verdict


@dataclass(frozen=True)
class IdempotencyResult:
    workload: str
    keys: int  # keys with at least one acknowledged answer
    conflicting: tuple[tuple[str, tuple[int, ...]], ...]  # key -> the different bookings it named

    def verdict(self) -> Verdict:
        anomalies = tuple(
            Anomaly(TWO_ANSWERS_ONE_KEY, f"{key}: bookings {', '.join(map(str, bookings))}")
            for key, bookings in self.conflicting
        )
        summary = f"{self.keys} keys answered, {len(self.conflicting)} with more than one booking"
        return Verdict("idempotency", self.workload, summary, anomalies)


def check_idempotency(history: Iterable[Op], workload: str) -> IdempotencyResult:
    answers: dict[str, set[int]] = {}
    for op in history:
        if op.workload == workload and op.f == BOOK and op.type == "ok" and op.value.idempotency_key:
            answers.setdefault(op.value.idempotency_key, set())
            if op.value.booking is not None:
                answers[op.value.idempotency_key].add(op.value.booking)
    conflicting = tuple(
        (key, tuple(sorted(bookings))) for key, bookings in sorted(answers.items()) if len(bookings) > 1
    )
    return IdempotencyResult(workload, len(answers), conflicting)
