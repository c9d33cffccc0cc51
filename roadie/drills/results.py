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
from roadie.drills.probes import PgWriteProbe
from roadie.drills.tickets import BOOKINGS, BUYER

# Probes whose errors a user of the app would see.
APP_PROBE_PREFIXES = (BUYER, "app-")
# The database's own write gap: the direct write probe's (no app, no retries in between).
DATABASE_WORKLOAD = PgWriteProbe.name
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
    Measurement("database write gap", "s"),
    *(Measurement(name, "s") for name in DETECTION),
    Measurement("acknowledged writes lost", "writes", objective=False),
    Measurement("seats sold twice", "seats", objective=False),
    Measurement("acknowledged bookings lost", "bookings", objective=False),
    Measurement("bookings confirmed", "bookings", objective=False),
    Measurement("booking conflicts (409)", "requests", objective=False),
    # Every booking carries an Idempotency-Key: any error a buyer saw is one the app did not
    # carry through the fault. 0 in the drills that promise it (`keyed_booking_checks`).
    Measurement("failed keyed bookings", "requests", objective=False),
    # Judged against the database write gap, not a fixed limit (`keyed_booking_checks`).
    Measurement("longest booking latency", "s", objective=False),
)
# The app re-runs a keyed booking while the database has no primary (issue 15): a held booking
# is answered within this much of the database taking writes again.
BOOKING_LATENCY_OVER_GAP_S = 1.0


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
    buyers = [s for s in probes if s.probe.startswith(BUYER)]
    return {
        "writes back after fault": _back(writes, recovered_s),
        "reads back after fault": _back(reads, recovered_s),
        "write gap": _worst(a.write_gap_s for a in check.availability),
        "longest read outage": _worst(s.outage_s for s in reads),
        "acknowledged writes lost": sum(len(s.lost) for s in _write_sets(check)),
        "app client errors": sum(s.errors for s in app) if app else None,
        "database write gap": _worst(a.write_gap_s for a in check.availability if a.workload == DATABASE_WORKLOAD),
        # A 409 is an answer, not an error.
        "failed keyed bookings": sum(s.errors for s in buyers) if buyers else None,
        "longest booking latency": _worst(None if s.max_ms is None else s.max_ms / 1000 for s in buyers),
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


def keyed_booking_checks(measured: Mapping[str, Figure]) -> list[Check]:
    """The keyed-booking invariants (issue 15) of a drill that promises them: no buyer saw an
    error, and the longest booking took at most the database's own write gap plus
    BOOKING_LATENCY_OVER_GAP_S. A figure not measured (no buyers, no direct write probe) fails:
    the promise cannot be kept by accident."""
    failed = measured["failed keyed bookings"]
    latency, gap = measured["longest booking latency"], measured["database write gap"]
    limit = None if gap is None else gap + BOOKING_LATENCY_OVER_GAP_S
    reference = f" (database write gap {NOT_MEASURED})" if limit is None else f" = {limit:.2f} s"
    return [
        invariant("failed keyed bookings", NOT_MEASURED if failed is None else failed, "= 0", failed == 0),
        invariant(
            "longest booking latency",
            NOT_MEASURED if latency is None else latency,
            f"<= database write gap + {BOOKING_LATENCY_OVER_GAP_S:g} s{reference}",
            latency is not None and limit is not None and latency <= limit,
        ),
    ]


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
