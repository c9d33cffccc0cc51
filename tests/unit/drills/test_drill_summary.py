"""`roadie drill all`'s summary: one row per drill with the measured times, the invariants, the
checker's verdict, which alerts fired, each objective beside its measured value, and PASSED or
FAILED."""

from roadie.cli.drill import SUMMARY_COLUMNS, summary_markdown, summary_row
from roadie.drills.catalog import DbPrimaryLoss
from roadie.drills.contract import DrillResult, Goal, figures, invariant, judge
from roadie.drills.results import MOST_PRIMARIES

WRITES_BACK = Goal(DbPrimaryLoss.measurement("writes back after fault"), 30.0)


def _figures(**values: float | None) -> dict:
    every: dict = dict.fromkeys((m.name for m in DbPrimaryLoss.measurements), None)
    every.update(
        {
            "writes back after fault": 20.9,
            "write gap": 20.94,
            "longest read outage": 0.12,
            "app client errors": 3,
            "failed keyed bookings": 0,
            "longest booking latency": 21.7,
            "acknowledged writes lost": 0,
            "seats sold twice": 0,
        }
    )
    every.update(values)
    return figures(DbPrimaryLoss, every)


def _result(measured: dict | None = None, primaries: object = 1, **details: object) -> DrillResult:
    measured = measured or _figures()
    base_details = {
        "recovered_s": 21.3,
        "checker": {"valid": True, "operations": {"ok": 900, "fail": 40, "info": 3}, "verdicts": []},
        "detection_s": {"haproxy noticed": 1.46, "patroni noticed": None},
        "alerts": {
            "observed": True,
            "alerts": [
                {"alert": "PatroniLeaderMissing", "firing_s": 31.0},
                {"alert": "PostgresReplicaLagging", "firing_s": None},
                {"alert": "RedisMasterChanged", "firing_s": -30.0, "before_drill": True},
            ],
        },
    }
    base_details.update(details)
    held = primaries == 1 if isinstance(primaries, int) else None
    return DrillResult(
        drill="db-primary-loss",
        description="Power loss of the primary.",
        started=0.0,
        target=("db-3",),
        measured=measured,
        checks=(*judge([WRITES_BACK], measured), invariant(MOST_PRIMARIES, primaries, "<= 1", held)),
        report="reports/db-primary-loss-1",
        details=base_details,
    )


def test_row_has_every_column_with_the_measured_values_and_objectives() -> None:
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
    assert named["objectives (measured / objective)"] == "writes back after fault 20.90 / <= 30 s"
    assert named["verdict"] == "PASSED"
    assert (named["ok/fail/info"], named["checker"]) == ("900/40/3", "valid")


def test_row_says_not_measured_and_not_recovered_never_zero() -> None:
    measured = _figures(
        **{
            "writes back after fault": None,
            "write gap": None,
            "longest read outage": None,
            "app client errors": None,
            "seats sold twice": None,
            "failed keyed bookings": None,
            "longest booking latency": None,
        }
    )
    anomaly = {"kind": "not recovered", "detail": "not recovered after 90 s"}
    checker = {
        "valid": False,
        "operations": {"ok": 60, "fail": 900, "info": 0},
        "verdicts": [{"checker": "lower bounds", "workload": "amqp-publish", "anomalies": [anomaly]}],
    }
    row = summary_row(_result(measured, primaries="not measured", recovered_s=None, checker=checker))
    named = dict(zip(SUMMARY_COLUMNS, row, strict=True))
    assert named["writes back (s)"] == "not recovered"
    assert (named["write gap (s)"], named["read outage (s)"]) == ("not measured", "not measured")
    assert (named["client errors"], named["max primaries"]) == ("not measured", "not measured")
    assert (named["failed keyed bookings"], named["longest booking (s)"]) == ("not measured", "not measured")
    assert named["sold twice"] == "not measured"
    assert named["objectives (measured / objective)"] == "writes back after fault not measured / <= 30 s MISSED"
    assert (named["checker"], named["verdict"]) == ("not recovered", "FAILED")


def test_a_missed_objective_reads_missed_and_fails_the_row() -> None:
    named = dict(zip(SUMMARY_COLUMNS, summary_row(_result(_figures(**{"writes back after fault": 31.2}))), strict=True))
    assert named["objectives (measured / objective)"] == "writes back after fault 31.20 / <= 30 s MISSED"
    assert named["verdict"] == "FAILED"


def test_a_drill_without_in_region_probes_reads_not_measured() -> None:
    """The restore and DR drills have no checker, detection or split-brain sampler."""
    bare = DrillResult("restore", "Restore.", 0.0, ("127.1.0.81",), {}, (), "reports/restore-1")
    named = dict(zip(SUMMARY_COLUMNS, summary_row(bare), strict=True))
    assert named["detected (s)"] == "-"
    assert (named["writes back (s)"], named["max primaries"]) == ("not measured", "not measured")
    assert (named["ok/fail/info"], named["checker"]) == ("not measured", "no checker")
    assert (named["objectives (measured / objective)"], named["verdict"]) == ("none set", "PASSED")


def test_row_says_when_alerts_could_not_be_observed() -> None:
    row = summary_row(_result(alerts={"observed": False, "why": "no Prometheus"}))
    assert dict(zip(SUMMARY_COLUMNS, row, strict=True))["alerts fired"] == "not observed"


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
