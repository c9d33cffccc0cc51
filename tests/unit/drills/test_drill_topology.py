"""`roadie drill all` skips, with one line saying why, a drill the lab's topology lacks, and
exits 0 when every drill it ran passed. The topology here is synthetic: a core profile with one
RabbitMQ node and a full one with three."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from roadie.cli import drill as drill_cli
from roadie.cli.main import app
from roadie.drills import catalog
from roadie.drills.topology import Need, missing
from roadie.lab.inventory import Lab, LabHost, load_lab
from roadie.lab.machines import Machine
from roadie.lab.plan import LabPlan, PlannedHost, load_plan

BOTH = ("core", "full")
PLAN = LabPlan(
    environment="lab",
    network="127.0.0.0/8",
    hosts=(
        *(PlannedHost(f"db-{i}", f"127.1.{i}.11", 1, i, ("etcd", "postgres"), BOTH) for i in (1, 2, 3)),
        *(PlannedHost(f"cache-{i}", f"127.1.{i}.21", 1, i, ("redis", "sentinel"), BOTH) for i in (1, 2, 3)),
        *(PlannedHost(f"app-{i}", f"127.1.{i}.31", 1, i, ("app",), BOTH) for i in (1, 2, 3)),
        PlannedHost("mq-1", "127.1.1.41", 1, 1, ("rabbitmq",), BOTH),
        PlannedHost("mq-2", "127.1.2.41", 1, 2, ("rabbitmq",), ("full",)),
        PlannedHost("mq-3", "127.1.3.41", 1, 3, ("rabbitmq",), ("full",)),
        PlannedHost("app-lb", "127.1.0.51", 1, 0, ("lb",), BOTH),
        PlannedHost("pg-lb", "127.1.0.52", 1, 0, ("pg_lb",), BOTH),
    ),
)


def lab_of(profile: str) -> Lab:
    hosts = tuple(
        LabHost(h.name, h.address, h.region, h.az, h.roles, Machine(h.name, h.address, Path("/nonexistent") / h.name))
        for h in PLAN.for_profile(profile)
    )
    return Lab(root=Path("/nonexistent"), profile=profile, hosts=hosts)


def test_the_core_profile_lacks_only_the_rabbitmq_cluster() -> None:
    reasons = {name: missing(cls.needs, lab_of("core"), PLAN) for name, cls in catalog.DRILLS.items()}
    assert reasons.pop("rabbitmq-node-loss") == "needs 3 rabbitmq hosts, the core lab has 1: needs --profile full"
    assert set(reasons.values()) == {None}


def test_the_full_profile_runs_every_drill() -> None:
    assert all(missing(cls.needs, lab_of("full"), PLAN) is None for cls in catalog.DRILLS.values())


def test_a_need_no_profile_meets_says_so() -> None:
    assert missing([Need("rabbitmq", 5)], lab_of("full"), PLAN).endswith("no lab profile has them")


@pytest.fixture
def core_lab(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """`drill all` against the synthetic core lab, each drill passing; returns the drills run."""
    ran: list[str] = []

    def run(drill, lab, reports):
        ran.append(drill.name)
        return {"drill": drill.name, "invariants_ok": True, "passed": True, "report": str(reports / drill.name)}

    monkeypatch.setattr(drill_cli, "load_lab", lambda: lab_of("core"))
    monkeypatch.setattr(drill_cli, "load_plan", lambda: PLAN)
    monkeypatch.setattr(drill_cli.runner, "run", run)
    monkeypatch.setattr(drill_cli, "_print_summary", lambda results: None)
    monkeypatch.setattr(drill_cli, "summary_markdown", lambda results, failed, skipped: f"skipped: {skipped}\n")
    return ran


def test_drill_all_skips_what_the_lab_lacks_and_exits_0(core_lab: list[str], tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["drill", "all", "--reports", str(tmp_path)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "drill rabbitmq-node-loss skipped: needs 3 rabbitmq hosts, the core lab has 1: needs --profile full" in (
        result.output
    )
    assert core_lab == [name for name in catalog.DRILLS if name != "rabbitmq-node-loss"]


def test_the_repositorys_own_plan_gives_the_same_answer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ROADIE_LAB_ROOT", str(tmp_path))  # the lab's files are never read here
    plan = load_plan()
    core, full = (Lab(tmp_path, p, load_lab(p).hosts) for p in ("core", "full"))
    assert missing(catalog.DRILLS["rabbitmq-node-loss"].needs, core, plan).endswith("needs --profile full")
    assert all(missing(cls.needs, full, plan) is None for cls in catalog.DRILLS.values())
