"""Chaos experiments against the lab through `roadie chaos run`: the steady state holds
before and after the fault, the fault really happened, and the rollbacks healed the cluster.
Times are measurements in the journal, not assertions."""

import json

import pytest
from typer.testing import CliRunner

from roadie.cli import chaos as chaos_cli
from roadie.drills import cluster
from roadie.drills.endpoints import discover
from roadie.lab import hosts
from tests.support import wait_until

# The fault each experiment must have caused: the probe in its method that waits for the
# cluster to replace what it lost, and the write probe that must have seen errors.
FAULTS = {
    "db-primary-loss": ("a new Patroni leader takes over", "leader", "db-write"),
    "redis-master-loss": ("the Sentinels promote a new master", "master", "redis-write"),
}


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_experiment_completes_within_its_steady_state_and_heals(lab, lab_secrets, running_hosts, tmp_path, name):
    endpoints = discover(lab)
    wait_until(
        lambda: cluster.patroni_healthy(endpoints) and cluster.redis_healthy(endpoints, lab_secrets),
        120,
        "a healthy cluster before the experiment",
    )

    result = CliRunner().invoke(chaos_cli.app, ["run", name, "--reports", str(tmp_path)])

    journals = list(tmp_path.glob(f"chaos-{name}-*/journal.json"))
    assert len(journals) == 1, result.output
    journal = json.loads(journals[0].read_text())
    assert result.exit_code == 0, result.output
    assert journal["status"] == "completed"
    assert not journal["deviated"]
    assert journal["steady_states"]["before"]["steady_state_met"]
    assert journal["steady_states"]["after"]["steady_state_met"]

    # The fault really happened: the cluster replaced the member it lost, and writes failed meanwhile.
    waited_for, role, writer = FAULTS[name]
    step = next(s for s in journal["run"] if s["activity"]["name"] == waited_for)
    assert step["status"] == "succeeded"
    assert step["output"][role] != step["output"]["previous"]
    victim = step["output"]["previous"]
    workload = journal["roadie_workload"]["probes"]
    assert workload[writer]["errors"] > 0, workload
    assert all(p["requests"] > 100 for p in workload.values()), workload

    # The rollbacks healed it: every rollback succeeded, the victim is back and the cluster whole.
    assert journal["rollbacks"] and all(r["status"] == "succeeded" for r in journal["rollbacks"])
    assert hosts.is_powered_on(lab.host(victim))
    assert cluster.patroni_healthy(endpoints)
    assert cluster.redis_healthy(endpoints, lab_secrets)
