"""chaos/*.json is generated from roadie/chaos/scenarios.py: the committed experiments are
what the declarations build, and the generator notices a hand edit or a hand-written file."""

import shutil

from typer.testing import CliRunner

from roadie.chaos import experiments, scenarios
from roadie.cli import chaos as chaos_cli
from roadie.drills import discovery


def test_committed_experiments_are_what_the_scenarios_build(capsys):
    assert scenarios.main(["--check"]) == 0, capsys.readouterr().out


def test_every_scenario_is_a_drill_and_every_experiment_a_scenario():
    drills = [s.drill for s in scenarios.SCENARIOS]
    assert len(set(drills)) == len(drills)
    assert set(drills) <= set(discovery.drills())
    assert set(drills) == set(experiments.names())


def test_check_reports_a_hand_edit_and_writing_repairs_it(tmp_path, capsys):
    shutil.copytree(experiments.directory(), tmp_path, dirs_exist_ok=True)
    edited = tmp_path / "db-switchover.json"
    edited.write_text(edited.read_text().replace('"timeout_s": 30.0', '"timeout_s": 31.0'))
    assert scenarios.main(["--check"], tmp_path) == 1
    assert "db-switchover.json" in capsys.readouterr().out
    assert scenarios.main([], tmp_path) == 0
    assert scenarios.main(["--check"], tmp_path) == 0


def test_a_file_no_scenario_generates_fails_both_modes(tmp_path, capsys):
    shutil.copytree(experiments.directory(), tmp_path, dirs_exist_ok=True)
    (tmp_path / "hand-written.json").write_text("{}\n")
    assert scenarios.main(["--check"], tmp_path) == 1
    assert scenarios.main([], tmp_path) == 1
    assert "hand-written.json" in capsys.readouterr().out


def test_cli_check_exits_zero_on_the_committed_experiments():
    result = CliRunner().invoke(chaos_cli.app, ["generate", "--check"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
