"""`roadie drill all`'s summary: one row per drill with the measured times, the invariants, the
checker's verdict and which alerts fired."""

from roadie.cli.drill import SUMMARY_COLUMNS, summary_markdown, summary_row


def _result(**overrides: object) -> dict:
    result = {
        "drill": "db-primary-loss",
        "target": ["db-3"],
        "report": "reports/db-primary-loss-1",
        "passed": True,
        "recovered_s": 21.3,
        "checker": {"valid": True, "operations": {"ok": 900, "fail": 40, "info": 3}, "verdicts": []},
        "detection_s": {"haproxy noticed": 1.46, "patroni noticed": None},
        "measured": {
            "writes back after fault": 20.9,
            "write gap": 20.94,
            "longest read outage": 0.12,
            "app client errors": 3,
            "failed keyed bookings": 0,
            "longest booking latency": 21.7,
            "acknowledged writes lost": 0,
            "seats sold twice": 0,
        },
        "checks": [{"name": "most writable primaries at once", "value": 1, "goal": "<= 1", "met": True}],
        "alerts": {
            "observed": True,
            "alerts": [
                {"alert": "PatroniLeaderMissing", "firing_s": 31.0},
                {"alert": "PostgresReplicaLagging", "firing_s": None},
                {"alert": "RedisMasterChanged", "firing_s": -30.0, "before_drill": True},
            ],
        },
    }
    result.update(overrides)
    return result


def test_row_has_every_column_with_the_measured_values() -> None:
    row = summary_row(_result())
    assert len(row) == len(SUMMARY_COLUMNS)
    named = dict(zip(SUMMARY_COLUMNS, row, strict=True))
    assert named["detected (s)"] == "1.46"
    assert named["writes back (s)"] == "20.90"
    assert named["read outage (s)"] == "0.12"
    assert named["client errors"] == "3"
    assert (named["failed keyed bookings"], named["longest booking (s)"]) == ("0", "21.70")
    assert named["sold twice"] == "0"
    # Only alerts that reached "firing" during the drill count; pending ones and those left
    # over from an earlier drill are in the report.
    assert named["alerts fired"] == "PatroniLeaderMissing"
    assert named["goals"] == "met"
    assert (named["ok/fail/info"], named["checker"]) == ("900/40/3", "valid")


def test_row_says_not_measured_and_not_recovered_never_zero() -> None:
    measured = {
        "writes back after fault": None,
        "write gap": None,
        "longest read outage": None,
        "app client errors": None,
        "failed keyed bookings": None,
        "longest booking latency": None,
        "acknowledged writes lost": 0,
    }
    checks = [{"name": "most writable primaries at once", "value": "not measured", "goal": "<= 1", "met": None}]
    anomaly = {"kind": "not recovered", "detail": "not recovered after 90 s"}
    checker = {
        "valid": False,
        "operations": {"ok": 60, "fail": 900, "info": 0},
        "verdicts": [{"checker": "lower bounds", "workload": "amqp-publish", "anomalies": [anomaly]}],
    }
    row = summary_row(_result(measured=measured, checks=checks, recovered_s=None, checker=checker, passed=False))
    named = dict(zip(SUMMARY_COLUMNS, row, strict=True))
    assert named["writes back (s)"] == "not recovered"
    assert (named["write gap (s)"], named["read outage (s)"]) == ("not measured", "not measured")
    assert (named["client errors"], named["max primaries"]) == ("not measured", "not measured")
    assert (named["failed keyed bookings"], named["longest booking (s)"]) == ("not measured", "not measured")
    assert (named["checker"], named["goals"]) == ("not recovered", "MISSED")


def test_row_says_when_alerts_could_not_be_observed_and_goals_were_missed() -> None:
    row = summary_row(_result(passed=False, alerts={"observed": False, "why": "no Prometheus"}))
    named = dict(zip(SUMMARY_COLUMNS, row, strict=True))
    assert (named["alerts fired"], named["goals"]) == ("not observed", "MISSED")


def test_markdown_lists_rows_reports_and_drills_that_did_not_complete() -> None:
    text = summary_markdown(
        [_result()],
        {"az-outage": "timed out waiting for a healthy cluster"},
        {"rabbitmq-node-loss": "needs --profile full"},
    )
    lines = text.splitlines()
    assert lines[0].startswith("| drill | target |")
    assert lines[2].startswith("| db-primary-loss | db-3 | 1.46 | 20.90 |")
    assert "- az-outage: did not complete: timed out waiting for a healthy cluster" in text
    assert "- rabbitmq-node-loss: skipped: needs --profile full" in text
    assert "- db-primary-loss: reports/db-primary-loss-1/report.md" in text
