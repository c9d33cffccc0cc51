"""A drill's figures and checks, from its probe summaries and the checker's verdicts (pure:
unit-tested without a lab).

A figure the drill could not measure is None, shown as "not measured", never as 0: a drill
without a read probe has no read outage, and one that never recovered has no recovery time.
"""

from collections.abc import Iterable, Mapping

from roadie.checker.drill import DrillCheck
from roadie.checker.sets import SetResult
from roadie.drills.analysis import ProbeSummary
from roadie.drills.contract import NOT_MEASURED, Check, Figure, Goal, Measurement, invariant, judge
from roadie.drills.tickets import BOOKINGS

# Probes whose errors a user of the app would see.
APP_PROBE_PREFIXES = ("buyer", "app-")
MOST_PRIMARIES = "most writable primaries at once"
# When each part of the platform noticed the fault (the watchers' first departure from the
# value before it): the report's detection section, and measurements objectives may name.
DETECTION = {
    "haproxy noticed": ("haproxy", "up"),
    "patroni noticed": ("patroni", "leader"),
    "sentinel noticed": ("sentinel", "master"),
    "app load balancer noticed": ("app-lb", "up"),
}
# What every in-region drill measures (None where a drill has no probe or watcher for it).
MEASUREMENTS = (
    Measurement("writes back after fault", "s"),
    Measurement("reads back after fault", "s"),
    Measurement("write gap", "s"),
    Measurement("longest read outage", "s"),
    Measurement("app client errors", "requests"),
    *(Measurement(name, "s") for name in DETECTION),
    Measurement("acknowledged writes lost", "writes", objective=False),
    Measurement("seats sold twice", "seats", objective=False),
    Measurement("acknowledged bookings lost", "bookings", objective=False),
    Measurement("bookings confirmed", "bookings", objective=False),
    Measurement("booking conflicts (409)", "requests", objective=False),
)


def not_recovered(waited_s: float) -> str:
    return f"not recovered after {waited_s:g} s"


def measurements(
    summaries: Iterable[ProbeSummary],
    check: DrillCheck,
    recovered_s: float | None,
    detection: Mapping[str, float | None] | None = None,
    booking_race: Mapping[str, int] | None = None,
) -> dict[str, Figure]:
    """Every figure of MEASUREMENTS; the detection times and the buyers' race come from the
    runner (None when the drill has no such watcher or no buyers)."""
    probes = list(summaries)
    writes = [s for s in probes if s.kind == "write"]
    reads = [s for s in probes if s.kind == "read"]
    app = [s for s in probes if s.probe.startswith(APP_PROBE_PREFIXES)]
    return {
        "writes back after fault": _back(writes, recovered_s),
        "reads back after fault": _back(reads, recovered_s),
        "write gap": _worst(a.write_gap_s for a in check.availability),
        "longest read outage": _worst(s.outage_s for s in reads),
        "acknowledged writes lost": sum(len(s.lost) for s in _write_sets(check)),
        "app client errors": sum(s.errors for s in app) if app else None,
        **{name: (detection or {}).get(name) for name in DETECTION},
        **_booking_figures(check),
        "bookings confirmed": (booking_race or {}).get("bookings confirmed"),
        "booking conflicts (409)": (booking_race or {}).get("booking conflicts (409)"),
    }


def checks(
    goals: Iterable[Goal], measured: Mapping[str, Figure], check: DrillCheck, recovered_s: float | None, waited_s: float
) -> list[Check]:
    """Objective checks, then the invariants: recovery, split brain, lost writes, double
    sales, and one row per checker verdict. A figure the drill never measured because it never
    recovered says so."""
    rows = judge(goals, measured, not_recovered(waited_s) if recovered_s is None else NOT_MEASURED)
    recovered = not_recovered(waited_s) if recovered_s is None else f"after {recovered_s:.2f} s"
    rows.append(invariant("recovered by the deadline", recovered, f"<= {waited_s:g} s", recovered_s is not None))
    split = check.split_brain
    primaries = NOT_MEASURED if split is None or split.max_writable is None else split.max_writable
    one_primary = None if split is None else split.verdict().valid
    rows.append(invariant(MOST_PRIMARIES, primaries, "<= 1", one_primary))
    lost = {s.workload: len(s.lost) for s in _write_sets(check)}
    rows.append(invariant("acknowledged writes lost (all probes)", lost, "= 0", not any(lost.values())))
    for name in ("seats sold twice", "acknowledged bookings lost"):
        if measured[name] is not None:
            rows.append(invariant(name, measured[name], "= 0", measured[name] == 0))
    for verdict in check.verdicts():
        if verdict.checker != "availability":  # a measurement, judged by the objectives
            name = f"checker: {verdict.checker} ({verdict.workload})"
            rows.append(invariant(name, verdict.summary, "no anomaly", verdict.valid))
    return rows


def operation_counts(check: DrillCheck) -> dict[str, int]:
    """ok, fail and info over every write workload."""
    return {
        "ok": sum(a.ok for a in check.availability),
        "fail": sum(a.fail for a in check.availability),
        "info": sum(a.info for a in check.availability),
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


def _booking_figures(check: DrillCheck) -> dict[str, Figure]:
    bookings = [s for s in check.sets if s.workload == BOOKINGS]
    if not bookings:
        return {"seats sold twice": None, "acknowledged bookings lost": None}
    return {
        "seats sold twice": sum(s.sold_twice for s in check.seats),
        "acknowledged bookings lost": sum(len(s.lost) for s in bookings),
    }
