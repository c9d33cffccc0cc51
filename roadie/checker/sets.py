"""The set checker: every acknowledged write is in the final read, and nothing is there that
was never sent (Jepsen's set-full, without its timing of when an element became visible)."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from roadie.checker.history import WRITES, Op, OpValue
from roadie.checker.verdict import APPLIED_AFTER_FAIL, LOST, UNEXPECTED, Anomaly, Verdict


def by_key(value: OpValue) -> str:
    return value.key


def by_idempotency_key(value: OpValue) -> str:
    """Bookings are found again by the key the client sent: their ids are only in answers."""
    return value.idempotency_key


@dataclass(frozen=True)
class SetResult:
    workload: str
    attempted: int
    acknowledged: int
    lost: tuple[str, ...]  # ok, but absent from the final read
    unexpected: tuple[str, ...]  # in the final read, but never invoked
    recovered: tuple[str, ...]  # info (outcome unknown) that turned out applied
    applied_after_fail: tuple[str, ...]  # fail (definitely not applied), yet present

    def verdict(self) -> Verdict:
        anomalies = [Anomaly(LOST, key) for key in self.lost]
        anomalies += [Anomaly(UNEXPECTED, key) for key in self.unexpected]
        anomalies += [Anomaly(APPLIED_AFTER_FAIL, key) for key in self.applied_after_fail]
        summary = (
            f"{self.acknowledged} of {self.attempted} acknowledged, {len(self.lost)} lost, "
            f"{len(self.unexpected)} unexpected, {len(self.recovered)} of unknown outcome applied"
        )
        return Verdict("set", self.workload, summary, tuple(anomalies))


def check_set(
    history: Iterable[Op], final: Iterable[str], workload: str, element: Callable[[OpValue], str] = by_key
) -> SetResult:
    """Compare the writes of `workload` in the history with the final read of its elements."""
    outcomes: dict[str, set[str]] = {}
    for op in history:
        if op.workload == workload and op.f in WRITES:
            outcomes.setdefault(element(op.value), set()).add(op.type)
    present = set(final)
    acked = {key for key, seen in outcomes.items() if "ok" in seen}
    unknown = {key for key, seen in outcomes.items() if "info" in seen and "ok" not in seen}
    # A key sent again after a failure can be applied by the later attempt: only a key that
    # never had another outcome must be absent.
    failed_only = {key for key, seen in outcomes.items() if seen <= {"invoke", "fail"} and "fail" in seen}
    return SetResult(
        workload=workload,
        attempted=len(outcomes),
        acknowledged=len(acked),
        lost=tuple(sorted(acked - present)),
        unexpected=tuple(sorted(present - set(outcomes))),
        recovered=tuple(sorted(unknown & present)),
        applied_after_fail=tuple(sorted(failed_only & present)),
    )
