"""The drill contract's typed results: a misspelt goal or figure is an error, never "met =
None"; PASSED needs every invariant and every objective; the report puts each objective beside
its measured value and says "not measured" for a figure that is missing."""

from pathlib import Path

import pytest

from roadie.backup.drill import RestoreDrill, judged
from roadie.backup.report import markdown
from roadie.backup.restore import RestoreResult, TableCheck
from roadie.dr.drills import DrFailover
from roadie.drills.contract import DrillResult, Goal, Measurement, figures, info, invariant, judge
from roadie.drills.report import verdict_markdown
from roadie.errors import RoadieError

RTO = DrFailover.measurement("RTO: writes back after the region loss")
RPO = DrFailover.measurement("RPO: window of acknowledged writes lost")


def dr_figures(**values: float | None) -> dict:
    every = dict.fromkeys((m.name for m in DrFailover.measurements), 0)
    every.update(values)
    return figures(DrFailover, every)


def result(measured: dict, goals: list[Goal], *, lost: int = 0) -> DrillResult:
    return DrillResult(
        drill="dr-failover",
        description="Region 1 lost.",
        started=0.0,
        target=("db-1",),
        measured=measured,
        checks=(
            *judge(goals, measured),
            invariant("acknowledged writes lost", lost, "= 0", lost == 0),
            info("DNS answer", "127.2.0.52"),
        ),
        report="reports/dr-failover-1",
    )


def test_a_goal_on_a_misspelt_measurement_is_refused() -> None:
    with pytest.raises(RoadieError, match=r"drill dr-failover has no measurement 'RTO'"):
        DrFailover.measurement("RTO")


def test_a_figure_reported_under_an_undeclared_name_is_refused() -> None:
    values = dict.fromkeys((m.name for m in DrFailover.measurements), 1.0)
    values["RTO (s)"] = values.pop(RTO.name)
    with pytest.raises(RoadieError, match=r"undeclared measurements \['RTO \(s\)'\] and left out \['RTO: writes"):
        figures(DrFailover, values)


def test_a_goal_whose_figure_the_run_lacks_is_refused() -> None:
    stray = Goal(Measurement("crater", "m"), 1.0)
    with pytest.raises(RoadieError, match="objective on 'crater', which this run does not measure"):
        judge([stray], dr_figures())


def test_an_unknown_check_name_is_an_error_not_none() -> None:
    with pytest.raises(KeyError, match="has no check 'acknowledged write lost'"):
        result(dr_figures(), []).check("acknowledged write lost")


def test_met_objectives_and_held_invariants_pass() -> None:
    passed = result(dr_figures(**{RTO.name: 9.0}), [Goal(RTO, 20.0)])
    assert passed.passed and passed.objectives_met and passed.invariants_ok
    assert passed.check(RTO.name).met is True


def test_a_missed_objective_fails_the_drill_even_with_every_invariant_held() -> None:
    missed = result(dr_figures(**{RTO.name: 21.5}), [Goal(RTO, 20.0)])
    assert missed.invariants_ok and not missed.objectives_met
    assert not missed.passed
    text = "\n".join(verdict_markdown(missed))
    assert "# Drill `dr-failover` — FAILED" in text
    assert f"| {RTO.name} | <= 20 s | 21.5 | **no** |" in text


def test_a_broken_invariant_fails_the_drill_with_every_objective_met() -> None:
    broken = result(dr_figures(**{RTO.name: 5.0}), [Goal(RTO, 20.0)], lost=3)
    assert broken.objectives_met and not broken.passed
    assert "| acknowledged writes lost | 3 | = 0 | **no** |" in "\n".join(verdict_markdown(broken))


def test_a_figure_not_measured_misses_its_objective_and_says_so() -> None:
    unmeasured = result(dr_figures(**{RTO.name: 5.0, RPO.name: None}), [Goal(RTO, 20.0), Goal(RPO, 1.0)])
    assert not unmeasured.passed
    text = "\n".join(verdict_markdown(unmeasured))
    assert f"| {RTO.name} | <= 20 s | 5.0 | yes |" in text
    assert f"| {RPO.name} | <= 1 s | not measured | **no** |" in text
    assert "| DNS answer | 127.2.0.52 | reported | n/a |" in text


def test_a_drill_without_objectives_says_so() -> None:
    assert "No objective is set for this drill" in "\n".join(verdict_markdown(result(dr_figures(), [])))


def test_the_result_is_frozen() -> None:
    done = result(dr_figures(), [])
    with pytest.raises(TypeError):
        done.measured[RTO.name] = 1.0  # type: ignore[index]


def restored(**overrides: object) -> RestoreResult:
    base = RestoreResult("run1", "2026-12-03 10:00:00+00", "20261203-F", "full", "127.1.0.81", 0.4, 0.8, 0.6)
    base.markers_restored = base.markers_expected
    base.tables = [TableCheck("app", "public.bookings", 10, 10, True)]
    for key, value in overrides.items():
        setattr(base, key, value)
    return base


def test_the_restore_drill_judges_its_time_and_its_data() -> None:
    goal = Goal(RestoreDrill.measurement("restore time"), 10.0)
    ok = judged(restored(), 0.0, [goal], Path("reports/restore-1"))
    assert ok.passed and ok.measured["restore time"] == 1.4
    slow = judged(restored(restore_s=12.0), 0.0, [goal], Path("reports/restore-1"))
    assert slow.invariants_ok and not slow.passed
    lossy = judged(restored(markers_restored=190), 0.0, [goal], Path("reports/restore-1"))
    assert lossy.objectives_met and not lossy.passed
    assert lossy.check("rows committed before the target, missing").value == 10
    text = markdown(slow, restored(restore_s=12.0))
    assert "# Drill `restore` — FAILED" in text and "| restore time | <= 10 s | 12.6 | **no** |" in text
