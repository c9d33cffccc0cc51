"""The experiments in chaos/ reference only activities that exist, with arguments the
functions accept, and Chaos Toolkit itself finds them valid."""

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from roadie.chaos import activities, experiments

NAMES = experiments.names()
AMBIENT = {"configuration", "secrets"}  # passed by Chaos Toolkit itself


def _activities(experiment):
    yield from experiment["steady-state-hypothesis"]["probes"]
    yield from experiment["method"]
    yield from experiment["rollbacks"]


def test_every_fault_the_drills_inject_has_an_experiment():
    expected = {
        "db-primary-loss",
        "redis-master-loss",
        "app-node-loss",
        "db-switchover",
        "az-outage",
        "db-primary-freeze",
        "db-primary-partition",
    }
    assert expected <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_activities_exist_with_their_type_and_matching_arguments(name):
    discovered = {(a["mod"], a["name"]): a for a in activities()}
    for activity in _activities(experiments.load(name)):
        provider = activity["provider"]
        assert provider["type"] == "python", activity["name"]
        key = (provider["module"], provider["func"])
        assert key in discovered, f"{name}: {key} is not an exported activity"
        assert discovered[key]["type"] == activity["type"], f"{name}: {activity['name']} has the wrong type"
        accepted = {a["name"]: a for a in discovered[key]["arguments"]}
        given = set(provider.get("arguments", {}))
        assert given <= set(accepted) - AMBIENT, f"{name}: {activity['name']} unknown arguments {given - set(accepted)}"
        required = {n for n, a in accepted.items() if "default" not in a} - AMBIENT
        assert required <= given, f"{name}: {activity['name']} misses {required - given}"


@pytest.mark.parametrize("name", NAMES)
def test_hypothesis_holds_the_promises_and_rollbacks_heal(name):
    experiment = experiments.load(name)
    probes = {p["provider"]["func"]: p["tolerance"] for p in experiment["steady-state-hypothesis"]["probes"]}
    assert probes["error_rate"] == {"type": "range", "range": [0.0, 0.001]}
    assert probes["p95_latency_ms"] == {"type": "range", "range": [0.0, 200.0]}
    assert probes["seats_sold_twice"] == 0
    assert probes["acknowledged_writes_lost"] == 0
    assert probes["writable_primaries"] == {"type": "range", "range": [0, 1]}
    rollbacks = [(r["provider"]["module"], r["provider"]["func"]) for r in experiment["rollbacks"]]
    assert rollbacks[0] == ("roadie.chaos.lab.actions", "heal")
    # The fault goes through roadie's own actions, and the workload runs around all of it.
    assert any(a["type"] == "action" for a in experiment["method"])
    controls = [c["provider"]["module"] for c in experiment["controls"]]
    assert controls == ["roadie.chaos.workload.control"]


def test_workload_control_accepts_the_arguments_experiments_give_it():
    from roadie.chaos.workload import control  # noqa: PLC0415 - the module under test

    accepted = set(inspect.signature(control.before_experiment_control).parameters)
    for name in NAMES:
        for entry in experiments.load(name)["controls"]:
            assert set(entry["provider"].get("arguments", {})) <= accepted, name


@pytest.mark.parametrize("name", NAMES)
def test_chaos_toolkit_validates_the_experiment(name):
    chaos = Path(sys.executable).parent / "chaos"
    path = experiments.directory() / f"{name}.json"
    result = subprocess.run(
        [str(chaos), "--no-version-check", "validate", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
