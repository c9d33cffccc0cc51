"""The availability checker: the longest stretch without an acknowledged write, and how many
operations failed or ended unknown.

The write gap is measured as CloudNativePG's E2E tests measure it: from the last acknowledged
write before the gap to the first acknowledged write after it (completion times), so it
includes the time the client needed to notice and reconnect, not only the server's outage.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

from roadie.checker.history import WRITES, Op
from roadie.checker.verdict import Verdict


@dataclass(frozen=True)
class AvailabilityResult:
    workload: str
    ok: int
    fail: int
    info: int
    write_gap_s: float | None  # None: fewer than two acknowledged writes, not measured
    gap_from: float | None  # monotonic completion of the last ok before the gap
    gap_to: float | None  # ... and of the first ok after it

    def verdict(self) -> Verdict:
        gap = "not measured" if self.write_gap_s is None else f"{self.write_gap_s:.2f} s"
        # A measurement, not an invariant: the objectives judge it, the checker only reports it.
        return Verdict("availability", self.workload, f"ok {self.ok}, fail {self.fail}, info {self.info}, gap {gap}")


def check_availability(history: Iterable[Op], workload: str) -> AvailabilityResult:
    done = [op for op in history if op.workload == workload and op.f in WRITES and op.completed]
    acked = sorted(op.at for op in done if op.type == "ok")
    gaps = [(later - earlier, earlier, later) for earlier, later in pairwise(acked)]
    longest = max(gaps, default=None)
    return AvailabilityResult(
        workload=workload,
        ok=len(acked),
        fail=sum(1 for op in done if op.type == "fail"),
        info=sum(1 for op in done if op.type == "info"),
        write_gap_s=None if longest is None else round(longest[0], 3),
        gap_from=None if longest is None else longest[1],
        gap_to=None if longest is None else longest[2],
    )
