"""How a run's journal becomes the outcome `roadie chaos run` prints and exits with."""

import json

import pytest
from typer.testing import CliRunner

from roadie.chaos import experiments
from roadie.cli import chaos as chaos_cli
from roadie.errors import RoadieError


def _journal(tmp_path, *, status="completed", deviated=False, rollback="succeeded", after=True):
    journal = {
        "status": status,
        "deviated": deviated,
        "steady_states": {
            "before": {"steady_state_met": True, "probes": [{"activity": {"name": "error rate"}, "output": 0.0}]},
            "after": {"steady_state_met": after, "probes": [{"activity": {"name": "error rate"}, "output": 0.2}]},
        },
        "run": [
            {"activity": {"type": "action", "name": "power off"}, "output": {"db-1": 1.0}},
            {"activity": {"type": "probe", "name": "writes are back"}, "output": {"waited_s": 3.0}},
        ],
        "rollbacks": [{"activity": {"name": "heal"}, "status": rollback}],
        "roadie_workload": {"probes": {}},
    }
    path = tmp_path / "journal.json"
    path.write_text(json.dumps(journal))
    return path


def test_a_completed_run_that_healed_passes_and_reports_its_numbers(tmp_path):
    outcome = experiments.outcome("x", _journal(tmp_path))
    assert outcome.passed
    assert outcome.measurements["before: error rate"] == 0.0
    assert outcome.measurements["after: error rate"] == 0.2
    assert outcome.measurements["method: writes are back"] == {"waited_s": 3.0}
    assert "method: power off" not in outcome.measurements  # actions' outputs are timestamps


@pytest.mark.parametrize(
    "changes",
    [{"deviated": True, "after": False}, {"status": "failed"}, {"rollback": "failed"}],
)
def test_a_deviated_failed_or_unhealed_run_does_not_pass(tmp_path, changes):
    assert not experiments.outcome("x", _journal(tmp_path, **changes)).passed


def test_an_unknown_experiment_is_named_with_the_known_ones():
    with pytest.raises(RoadieError, match=r"unknown chaos experiment 'nope'.*db-primary-loss"):
        experiments.load("nope")


def test_run_exits_with_one_error_line_when_the_experiment_deviated(tmp_path, monkeypatch):
    journal = _journal(tmp_path, deviated=True, after=False)
    monkeypatch.setattr(experiments, "run", lambda name, reports: experiments.outcome(name, journal))
    result = CliRunner().invoke(chaos_cli.app, ["run", "db-primary-loss", "--reports", str(tmp_path)])
    assert isinstance(result.exception, RoadieError)
    assert "deviated from its steady state" in result.exception.message
    assert "after: error rate" in result.output


def test_list_shows_every_experiment():
    result = CliRunner().invoke(chaos_cli.app, ["list"])
    assert result.exit_code == 0, result.output
    for name in experiments.names():
        assert name in result.output


def test_the_sold_twice_query_uses_the_apps_real_schema():
    from app.tickets.schema import MIGRATIONS  # noqa: PLC0415 - the app is only needed here
    from roadie.chaos.invariants.probes import TICKETS_SOLD_TWICE  # noqa: PLC0415

    schema = " ".join(m.sql for m in MIGRATIONS)
    for name in ("booking_items", "bookings", "ticket_id", "booking_id", "released", "status", "'confirmed'"):
        assert name in TICKETS_SOLD_TWICE and name in schema, name


def test_activities_lists_every_discovered_function():
    from roadie.chaos import activities  # noqa: PLC0415

    result = CliRunner().invoke(chaos_cli.app, ["activities"])
    assert result.exit_code == 0, result.output
    for activity in activities():
        assert activity["name"] in result.output
