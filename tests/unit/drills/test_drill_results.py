"""A drill's figures and checks: what was not measured says so, a drill that never recovered
misses its goals, and the checker's verdicts are checks of their own."""

from roadie.checker.drill import FinalReads, check_drill
from roadie.checker.history import Op, OpValue, Sample
from roadie.drills.analysis import summarize_probe
from roadie.drills.catalog import RabbitmqNodeLoss
from roadie.drills.contract import Goal
from roadie.drills.records import Request
from roadie.drills.report import _checker_markdown
from roadie.drills.results import checks, measurements

FAULT = 10.0
GOALS = (Goal(RabbitmqNodeLoss.measurement("writes back after fault"), 5.0),)


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
    return measured, {c.name: c for c in checks(GOALS, measured, check, recovered_s, 90)}


def test_what_a_drill_has_no_probe_or_sampler_for_is_not_measured() -> None:
    measured, by_name = figures("." * 10 + "xx" + "." * 18, recovered_at=20.0)
    assert measured["writes back after fault"] == 2.1
    assert measured["longest read outage"] is None and measured["app client errors"] is None
    assert measured["seats sold twice"] is None and measured["sentinel noticed"] is None
    assert by_name["most writable primaries at once"].value == "not measured"
    assert by_name["most writable primaries at once"].met is None
    assert by_name["writes back after fault"].met and by_name["recovered by the deadline"].met
    assert by_name["writes back after fault"].kind == "objective"
    assert all(c.met is not False for c in by_name.values()), by_name


def test_a_drill_that_never_recovered_misses_its_goals_and_says_so() -> None:
    measured, by_name = figures("." * 10 + "x" * 20, recovered_at=None)
    assert measured["writes back after fault"] is None
    goal = by_name["writes back after fault"]
    assert (goal.value, goal.met) == ("not recovered after 90 s", False)
    assert by_name["recovered by the deadline"].met is False
    assert by_name["checker: lower bounds (amqp-publish)"].met is False


def test_a_blind_sampler_is_a_failed_check_not_zero_primaries() -> None:
    blind = [Sample(float(i), member, "unknown") for i in range(30) for member in ("db-1", "db-2", "db-3")]
    _, by_name = figures("." * 30, recovered_at=20.0, samples=blind)
    primaries = by_name["most writable primaries at once"]
    assert (primaries.value, primaries.met) == (0, False)
    assert by_name["checker: split brain (postgres)"].met is False


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
