"""Lower bounds: a drill measures something only if its probes worked on both sides of the
fault. Without them "0 acknowledged writes lost" also holds for a probe that was never
acknowledged at all.

Each workload needs at least MIN_OK_BEFORE_FAULT acknowledged operations completed before the
fault and MIN_OK_AFTER_RECOVERY completed after the drill declared recovery. The drills run
3 s of baseline and 4 s after recovery, at 10 to 20 requests a second per probe: 5 is far below
what a working probe does (the slowest, app-read on two loaded cores, answered ~10 in 3 s)
and far above what a broken one does (none).
"""

from collections.abc import Iterable
from dataclasses import dataclass

from roadie.checker.history import Op
from roadie.checker.verdict import NOT_RECOVERED, TOO_FEW_AFTER_RECOVERY, TOO_FEW_BEFORE_FAULT, Anomaly, Verdict

MIN_OK_BEFORE_FAULT = 5
MIN_OK_AFTER_RECOVERY = 5


@dataclass(frozen=True)
class BoundsResult:
    workload: str
    ok_before_fault: int
    ok_after_recovery: int | None  # None: the drill never recovered, nothing to count after
    waited_s: float  # how long the drill waited for recovery

    def verdict(self) -> Verdict:
        anomalies = []
        if self.ok_before_fault < MIN_OK_BEFORE_FAULT:
            anomalies.append(Anomaly(TOO_FEW_BEFORE_FAULT, f"{self.ok_before_fault} ok, needs {MIN_OK_BEFORE_FAULT}"))
        if self.ok_after_recovery is None:
            anomalies.append(Anomaly(NOT_RECOVERED, f"not recovered after {self.waited_s:g} s"))
        elif self.ok_after_recovery < MIN_OK_AFTER_RECOVERY:
            anomalies.append(
                Anomaly(TOO_FEW_AFTER_RECOVERY, f"{self.ok_after_recovery} ok, needs {MIN_OK_AFTER_RECOVERY}")
            )
        after = "not measured" if self.ok_after_recovery is None else str(self.ok_after_recovery)
        summary = f"ok before the fault {self.ok_before_fault}, after recovery {after}"
        return Verdict("lower bounds", self.workload, summary, tuple(anomalies))


def check_bounds(
    history: Iterable[Op], workload: str, *, fault_at: float, recovered_at: float | None, waited_s: float
) -> BoundsResult:
    """`fault_at` and `recovered_at` are monotonic; `recovered_at` None: not recovered."""
    acked = [op.at for op in history if op.workload == workload and op.type == "ok"]
    return BoundsResult(
        workload=workload,
        ok_before_fault=sum(1 for at in acked if at < fault_at),
        ok_after_recovery=None if recovered_at is None else sum(1 for at in acked if at >= recovered_at),
        waited_s=waited_s,
    )
