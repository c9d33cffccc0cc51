"""A drill's figures and checks: what was not measured says so, a drill that never recovered
misses its goals, and the checker's verdicts are checks of their own."""

from roadie.checker.drill import FinalReads, check_drill
from roadie.checker.history import Op, OpValue, Sample
from roadie.drills.analysis import summarize_probe
from roadie.drills.base import Goal
from roadie.drills.records import Request
from roadie.drills.report import _checker_markdown
from roadie.drills.results import checks, measurements

FAULT = 10.0
GOALS = (Goal("writes back after fault", 5.0), Goal("acknowledged writes lost", 0, "messages"))


def history(process: str, pattern: str) -> tuple[list[Op], list[Request]]:
    """One write a second: '.' ok, 'x' fail; the same as a history and as latency records."""
    ops, requests = [], []
    for i, ch in enumerate(pattern):
        value = OpValue(key=f"{process}-{i}")
        ops += [
            Op(process, process, "write", "invoke", i, value=value),
            Op(process, process, "write", "ok" if ch == "." else "fail", i + 0.1, latency=0.1, value=value),
        ]
        requests.append(Request(process, "write", float(i), 0.1, ch == ".", value.key))
    return ops, requests


def figures(pattern: str, recovered_at: float | None, samples: list[Sample] | None = None):
    ops, requests = history("amqp-publish", pattern)
    acked = frozenset(o.value.key for o in ops if o.type == "ok")
    check = check_drill(
        ops, samples, FinalReads({"amqp-publish": acked}), fault_at=FAULT, recovered_at=recovered_at, waited_s=90
    )
    recovered_s = None if recovered_at is None else recovered_at - FAULT
    measured = measurements([summarize_probe(requests, FAULT)], check, recovered_s)
    return measured, {c["name"]: c for c in checks(GOALS, measured, check, recovered_s, 90)}


def test_what_a_drill_has_no_probe_or_sampler_for_is_not_measured() -> None:
    measured, by_name = figures("." * 10 + "xx" + "." * 18, recovered_at=20.0)
    assert measured["writes back after fault"] == 2.1
    assert measured["longest read outage"] is None and measured["app client errors"] is None
    assert by_name["most writable primaries at once"]["value"] == "not measured"
    assert by_name["most writable primaries at once"]["met"] is None
    assert by_name["writes back after fault"]["met"] and by_name["recovered by the deadline"]["met"]
    assert all(c["met"] is not False for c in by_name.values()), by_name


def test_a_drill_that_never_recovered_misses_its_goals_and_says_so() -> None:
    measured, by_name = figures("." * 10 + "x" * 20, recovered_at=None)
    assert measured["writes back after fault"] is None
    goal = by_name["writes back after fault"]
    assert (goal["value"], goal["met"]) == ("not recovered after 90 s", False)
    assert by_name["recovered by the deadline"]["met"] is False
    assert by_name["checker: lower bounds (amqp-publish)"]["met"] is False


def test_a_blind_sampler_is_a_failed_check_not_zero_primaries() -> None:
    blind = [Sample(float(i), member, "unknown") for i in range(30) for member in ("db-1", "db-2", "db-3")]
    _, by_name = figures("." * 30, recovered_at=20.0, samples=blind)
    primaries = by_name["most writable primaries at once"]
    assert (primaries["value"], primaries["met"]) == (0, False)
    assert by_name["checker: split brain (postgres)"]["met"] is False


def test_the_report_lists_each_verdict_and_its_anomalies() -> None:
    lost = {"kind": "lost", "detail": "db-write-17"}
    checker = {
        "valid": False,
        "operations": {"ok": 10, "fail": 2, "info": 1},
        "verdicts": [
            {"checker": "set", "workload": "db-write", "summary": "1 lost", "anomalies": [lost], "valid": False}
        ],
    }
    text = "\n".join(_checker_markdown(checker))
    assert "## Checker: ANOMALIES FOUND" in text
    assert "10 ok, 2 fail (not applied), 1 info (outcome unknown)" in text
    assert "| set | db-write | 1 anomalies | 1 lost |" in text
    assert "- set (db-write): lost: db-write-17" in text


KEYED = (Goal("failed keyed bookings", 0, "requests"), Goal("longest booking latency", 1.0, over="database write gap"))


def failover(buyer_latencies: list[float], buyer_errors: int, db_pattern: str | None) -> dict:
    """A booking workload (one buyer: its latencies, the last `buyer_errors` of them failed)
    beside the database's direct write probe (`db_pattern`, one write a second; None: no such
    probe); the checks of KEYED by name."""
    ops, requests = [], []
    for i, latency in enumerate(buyer_latencies):
        ok = i < len(buyer_latencies) - buyer_errors
        value = OpValue(key=f"b{i}", seats=(i,), idempotency_key=f"buyer-a-{i}", booking=100 + i if ok else None)
        ops += [
            Op("buyer-a", "bookings", "book", "invoke", float(i), value=value),
            Op("buyer-a", "bookings", "book", "ok" if ok else "info", i + latency, latency=latency, value=value),
        ]
        requests.append(Request("buyer-a", "write", float(i), latency, ok, value.key))
    summaries = [summarize_probe(requests, FAULT)]
    elements = {"bookings": frozenset(o.value.idempotency_key for o in ops if o.type == "ok")}
    if db_pattern is not None:
        db_ops, db_requests = history("db-write", db_pattern)
        ops += db_ops
        summaries.append(summarize_probe(db_requests, FAULT))
        elements["db-write"] = frozenset(o.value.key for o in db_ops if o.type == "ok")
    check = check_drill(ops, None, FinalReads(elements), fault_at=FAULT, recovered_at=20.0, waited_s=90)
    measured = measurements(summaries, check, 10.0)
    return {c["name"]: c for c in checks(KEYED, measured, check, 10.0, 90)}


def test_a_booking_held_through_the_outage_meets_the_latency_goal_within_a_second_of_the_gap() -> None:
    # The database takes no write for 6 s (gap 7 s between acks); the held booking took 7.5 s.
    by_name = failover([0.05] * 12 + [7.5] + [0.05] * 5, 0, "." * 12 + "x" * 6 + "." * 12)
    latency = by_name["longest booking latency"]
    assert latency["value"] == 7.5 and latency["met"], latency
    assert latency["goal"] == "<= database write gap + 1 s = 8.00 s"
    assert by_name["failed keyed bookings"]["value"] == 0 and by_name["failed keyed bookings"]["met"]


def test_a_booking_held_well_past_the_gap_or_failed_misses_the_goals() -> None:
    by_name = failover([0.05] * 12 + [9.5] + [0.05] * 5 + [30.0], 1, "." * 12 + "x" * 6 + "." * 12)
    assert by_name["longest booking latency"]["value"] == 30.0
    assert by_name["longest booking latency"]["met"] is False
    assert (by_name["failed keyed bookings"]["value"], by_name["failed keyed bookings"]["met"]) == (1, False)


def test_a_latency_goal_without_its_reference_is_missed_not_met() -> None:
    by_name = failover([0.05] * 20, 0, None)
    latency = by_name["longest booking latency"]
    assert latency["met"] is False
    assert "database write gap not measured" in latency["goal"]


def test_a_drill_without_a_history_says_its_checker_was_not_measured() -> None:
    # The region drills (roadie/dr) record no operation history: their report must still be
    # written (it raised KeyError 'checker'), and say so rather than show a verdict.
    text = "\n".join(_checker_markdown(None))
    assert "## Checker: not measured" in text
    assert "valid" not in text and "ANOMALIES" not in text
