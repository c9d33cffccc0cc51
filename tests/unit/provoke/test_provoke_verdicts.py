"""The provocation verdicts on synthetic inputs: every alert is provoked or says why not, a
runbook's findings name a cause only on the right line, and an outcome that did not fire,
notify, resolve or name its cause, or that paged on a benign event, is a failure."""

import json
from datetime import UTC, datetime

import pytest

from roadie.alerts.active import ActiveAlert
from roadie.alerts.notifications import Notification
from roadie.alerts.rules import alerting_rules, duration_seconds
from roadie.cli.provoke import failures
from roadie.provoke import table
from roadie.provoke.campaign import Diagnosis, Outcome
from roadie.provoke.catalog import CATALOG, NOT_PROVOKED, find, provoked_alerts
from roadie.provoke.causes import line_matching, line_with, series
from roadie.provoke.watch import Timeline
from roadie.runbooks.parse import runbooks_dir

ALERTS = {r.name for r in alerting_rules()}


def test_every_alert_is_provoked_or_says_why_not():
    provoked = provoked_alerts()
    assert ALERTS - provoked - set(NOT_PROVOKED) == set(), "alerts with neither a provocation nor a reason"
    assert provoked & set(NOT_PROVOKED) == set(), "alerts both provoked and listed as not provoked"
    assert set(NOT_PROVOKED) <= ALERTS, "reasons given for alerts that do not exist"


def test_provocations_name_real_alerts_with_runbooks_and_unique_names():
    names = [p.name for p in CATALOG]
    assert len(names) == len(set(names))
    for one in CATALOG:
        assert set(one.alerts) | set(one.silent) <= ALERTS, one.name
        assert all((runbooks_dir() / f"{a}.md").exists() for a in one.alerts), one.name
        assert bool(one.alerts) != bool(one.hold_s), f"{one.name}: a benign event is watched, a fault is not"


def test_find_takes_a_provocation_or_an_alert_name_and_refuses_others():
    assert find("deadlock").alerts == ("PostgresDeadlocks",)
    assert find("PostgresSlowQueries").name == "slow-query"
    with pytest.raises(Exception, match="no provocation named 'NoSuchAlert'"):
        find("NoSuchAlert")


FINDINGS = """{az=1, datname=app, host=db-1, instance=x, job=postgres} = 0
{az=3, datname=app, host=db-3, instance=y, job=postgres} = 2
postgres db-2 Get "http://127.1.2.11:9187/metrics": connection refused
 4242 | 00:01:02 | active | select pg_sleep(600) -- roadie provoke slow-query"""


def test_a_series_cause_needs_its_labels_and_value_on_one_line():
    assert series("x", {"host": "db-3", "datname": "app"}, above=0).found_in(FINDINGS)
    assert not series("x", {"host": "db-1", "datname": "app"}, above=0).found_in(FINDINGS), "db-1 is healthy (0)"
    assert series("x", {"host": "db-1"}, equal=0).found_in(FINDINGS)
    assert not series("x", {"host": "db-9"}).found_in(FINDINGS)


def test_line_causes_need_every_fragment_on_one_line():
    assert line_with("x", "pg_sleep(600)").found_in(FINDINGS)
    assert not line_with("x", "pg_sleep(600)", "db-3").found_in(FINDINGS)
    assert line_matching("x", r"^postgres db-2 \S").found_in(FINDINGS)
    assert not line_matching("x", r"^postgres db-3 \S").found_in(FINDINGS)


def _note(at: float, status: str = "firing", **labels: str) -> Notification:
    return Notification(
        received_at=datetime.fromtimestamp(at, UTC).isoformat(),
        receiver="warning",
        status=status,
        alertname=labels.get("alertname", ""),
        severity="warning",
        labels=labels,
        summary="",
        starts_at="",
    )


def test_a_timeline_counts_only_this_runs_notification_and_resolves_when_gone():
    timeline = Timeline("PostgresSlowQueries", {"host": "db-1"}, started=1000.0)
    active = [ActiveAlert("PostgresSlowQueries", "firing", {"alertname": "PostgresSlowQueries", "host": "db-1"}, 1005)]
    earlier = _note(990.0, alertname="PostgresSlowQueries", host="db-1")
    other_host = _note(1010.0, alertname="PostgresSlowQueries", host="db-2")
    timeline.observe(1020.0, active, [earlier, other_host])
    assert timeline.firing and timeline.notified_at is None, "an earlier run's or another host's note does not count"
    timeline.observe(1030.0, active, [_note(1025.0, alertname="PostgresSlowQueries", host="db-1")])
    assert timeline.notified_at == pytest.approx(1025.0)
    timeline.observe(1040.0, [], [])
    assert timeline.seconds() == {"pending_s": 5.0, "firing_s": 20.0, "notified_s": 25.0, "resolved_s": 40.0}


def _outcome(**timeline: float | None) -> Outcome:
    outcome = Outcome("p", "", started=1000.0)
    outcome.timelines = [Timeline("A", {}, 1000.0, **timeline)]
    outcome.bounds = {"A": 20.0}
    outcome.diagnoses = [Diagnosis("A", ["the host"], [], [], "")]
    return outcome


GOOD = {"pending_at": 1005.0, "firing_at": 1020.0, "notified_at": 1030.0, "resolved_at": 1100.0}


def test_a_good_outcome_has_no_failures():
    assert failures(_outcome(**GOOD)) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"firing_at": None, "notified_at": None, "resolved_at": None}, "never fired"),
        ({"firing_at": 1060.0}, "from pending to firing"),
        ({"notified_at": None}, "no notification"),
        ({"resolved_at": None}, "did not resolve"),
    ],
)
def test_a_sabotaged_outcome_fails(change, expected):
    assert any(expected in f for f in failures(_outcome(**{**GOOD, **change})))


def test_a_runbook_that_misses_the_cause_or_a_benign_event_that_pages_fails():
    outcome = _outcome(**GOOD)
    outcome.diagnoses = [Diagnosis("A", [], ["the host"], ["step 2"], "")]
    outcome.silent_fired = ["B"]
    found = failures(outcome)
    assert any("did not name: the host" in f for f in found)
    assert any("steps failed: step 2" in f for f in found)
    assert any("B fired during a benign event" in f for f in found)


def test_the_docs_table_is_current_and_says_not_measured_for_unmeasured_figures(tmp_path):
    assert table.check(), "docs/observability.md is out of date: run 'roadie provoke table'"
    alert = {"alert": "PostgresSlowQueries", "labels": {}, "pending_s": 3.0, "firing_s": None, "notified_s": None,
             "resolved_s": None}  # fmt: skip
    silent = {"silent_watched": ["PostgresSlowQueries"], "silent_fired": ["PostgresSlowQueries"]}
    results = {"outcomes": [{"provocation": "slow-query", "alerts": [alert], "diagnoses": [], **silent}]}
    rendered = table.render(json.loads(json.dumps(results)))
    row = next(line for line in rendered.splitlines() if line.startswith("| PostgresSlowQueries "))
    assert "| 3 | not measured | not measured | not measured |" in row
    assert "not run (the alert did not fire)" in row
    assert "slow-query: FIRED" in row
    assert all(f"| {name} |" in rendered for name in ALERTS)


def test_rule_windows_and_durations_are_read_from_the_rules():
    windows = {r.name: r.window_s for r in alerting_rules()}
    assert windows["PatroniLeaderChanged"] == 600, "offset 10m"
    assert windows["PostgresDeadlocks"] == 300, "increase(...[5m])"
    assert windows["PatroniNoLeader"] == 0
    assert duration_seconds("1h30m") == 5400
    with pytest.raises(Exception, match="not a Prometheus duration"):
        duration_seconds("ten minutes")
