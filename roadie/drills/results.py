"""A drill's figures and checks, from its probe summaries and the checker's verdicts (pure:
unit-tested without a lab).

A figure the drill could not measure is None, shown as "not measured", never as 0: a drill
without a read probe has no read outage, and one that never recovered has no recovery time.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from roadie.checker.drill import DrillCheck
from roadie.checker.sets import SetResult
from roadie.drills.analysis import ProbeSummary
from roadie.drills.base import Goal
from roadie.drills.probes import PgWriteProbe
from roadie.drills.tickets import BOOKINGS, BUYER

NOT_MEASURED = "not measured"
# Probes whose errors a user of the app would see.
APP_PROBE_PREFIXES = (BUYER, "app-")
# The database's own write gap: the direct write probe's (no app, no retries in between).
DATABASE_WORKLOAD = PgWriteProbe.name


def not_recovered(waited_s: float) -> str:
    return f"not recovered after {waited_s:g} s"


def measurements(
    summaries: Iterable[ProbeSummary], check: DrillCheck, recovered_s: float | None
) -> dict[str, float | int | None]:
    probes = list(summaries)
    writes = [s for s in probes if s.kind == "write"]
    reads = [s for s in probes if s.kind == "read"]
    app = [s for s in probes if s.probe.startswith(APP_PROBE_PREFIXES)]
    buyers = [s for s in probes if s.probe.startswith(BUYER)]
    return {
        "writes back after fault": _back(writes, recovered_s),
        "reads back after fault": _back(reads, recovered_s),
        "write gap": _worst(a.write_gap_s for a in check.availability),
        "longest read outage": _worst(s.outage_s for s in reads),
        "acknowledged writes lost": sum(len(s.lost) for s in _write_sets(check)),
        "app client errors": sum(s.errors for s in app) if app else None,
        "database write gap": _worst(a.write_gap_s for a in check.availability if a.workload == DATABASE_WORKLOAD),
        # Every booking carries an Idempotency-Key: any error a buyer saw (a 409 is an answer,
        # not an error) is a keyed booking the app did not carry through the fault.
        "failed keyed bookings": sum(s.errors for s in buyers) if buyers else None,
        "longest booking latency": _worst(None if s.max_ms is None else s.max_ms / 1000 for s in buyers),
        **_booking_figures(check),
    }


def checks(
    goals: Iterable[Goal], measured: Mapping[str, Any], check: DrillCheck, recovered_s: float | None, waited_s: float
) -> list[dict[str, Any]]:
    """Goal checks, then the invariants: recovery, split brain, lost writes, double sales, and
    one row per checker verdict."""
    rows = [_goal(g, measured, recovered_s, waited_s) for g in goals]
    rows.append(
        {
            "name": "recovered by the deadline",
            "value": not_recovered(waited_s) if recovered_s is None else f"after {recovered_s:.2f} s",
            "goal": f"<= {waited_s:g} s",
            "met": recovered_s is not None,
        }
    )
    split = check.split_brain
    rows.append(
        {
            "name": "most writable primaries at once",
            "value": NOT_MEASURED if split is None or split.max_writable is None else split.max_writable,
            "goal": "<= 1",
            "met": None if split is None else split.verdict().valid,
        }
    )
    lost = {s.workload: len(s.lost) for s in _write_sets(check)}
    rows.append(
        {"name": "acknowledged writes lost (all probes)", "value": lost, "goal": "= 0", "met": not any(lost.values())}
    )
    for name in ("seats sold twice", "acknowledged bookings lost"):
        if name in measured:
            rows.append({"name": name, "value": measured[name], "goal": "= 0", "met": measured[name] == 0})
    for verdict in check.verdicts():
        if verdict.checker != "availability":  # a measurement, judged by the goals
            rows.append(
                {
                    "name": f"checker: {verdict.checker} ({verdict.workload})",
                    "value": verdict.summary,
                    "goal": "no anomaly",
                    "met": verdict.valid,
                }
            )
    return rows


def operation_counts(check: DrillCheck) -> dict[str, int]:
    """ok, fail and info over every write workload."""
    return {
        "ok": sum(a.ok for a in check.availability),
        "fail": sum(a.fail for a in check.availability),
        "info": sum(a.info for a in check.availability),
    }


def _goal(goal: Goal, measured: Mapping[str, Any], recovered_s: float | None, waited_s: float) -> dict[str, Any]:
    value = measured.get(goal.name)
    # A goal whose figure was not measured is missed: it cannot be met by accident; so is a
    # relative goal whose reference was not measured.
    shown = value if value is not None else (not_recovered(waited_s) if recovered_s is None else NOT_MEASURED)
    if goal.over is None:
        return {
            "name": goal.name,
            "value": shown,
            "goal": f"<= {goal.limit:g} {goal.unit}",
            "met": value is not None and value <= goal.limit,
        }
    reference = measured.get(goal.over)
    limit = None if reference is None else reference + goal.limit
    return {
        "name": goal.name,
        "value": shown,
        "goal": f"<= {goal.over} + {goal.limit:g} {goal.unit}"
        + (f" ({goal.over} {NOT_MEASURED})" if limit is None else f" = {limit:.2f} {goal.unit}"),
        "met": value is not None and limit is not None and value <= limit,
    }


def _back(summaries: list[ProbeSummary], recovered_s: float | None) -> float | None:
    """The slowest probe's return after the fault: 0 for a probe that never failed; nothing
    when no probe of the kind ran or the drill never recovered."""
    if recovered_s is None:
        return None
    return _worst(0.0 if s.errors == 0 else s.back_after_fault_s for s in summaries)


def _worst(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def _write_sets(check: DrillCheck) -> list[SetResult]:
    return [s for s in check.sets if s.workload != BOOKINGS]


def _booking_figures(check: DrillCheck) -> dict[str, int]:
    bookings = [s for s in check.sets if s.workload == BOOKINGS]
    if not bookings:
        return {}
    return {
        "seats sold twice": sum(s.sold_twice for s in check.seats),
        "acknowledged bookings lost": sum(len(s.lost) for s in bookings),
    }
