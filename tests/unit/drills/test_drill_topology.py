"""`roadie drill all` skips, with one line saying why, a drill the lab's topology lacks, and
exits 0 when every drill it ran passed. The topology here is synthetic: a core profile with one
RabbitMQ node and no DR region, a full one with three RabbitMQ nodes and the DR region."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from roadie.cli import drill as drill_cli
from roadie.cli.main import app
from roadie.drills import discovery, objectives
from roadie.drills.contract import DrillResult, invariant
from roadie.drills.topology import Need, missing
from roadie.errors import RoadieError
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
        PlannedHost("backup", "127.1.0.81", 1, 0, ("backup_repo",), BOTH),
        PlannedHost("db-dr", "127.2.1.11", 2, 1, ("postgres_dr",), ("full",)),
        PlannedHost("dns", "127.0.2.53", 0, 0, ("dns_api",), ("full",)),
    ),
)


def lab_of(profile: str) -> Lab:
    hosts = tuple(
        LabHost(h.name, h.address, h.region, h.az, h.roles, Machine(h.name, h.address, Path("/nonexistent") / h.name))
        for h in PLAN.for_profile(profile)
    )
    return Lab(root=Path("/nonexistent"), profile=profile, hosts=hosts)


FULL_ONLY = ("rabbitmq-node-loss", "dr-failover", "dr-failback")


def test_the_core_profile_lacks_only_the_rabbitmq_cluster_and_the_dr_region() -> None:
    reasons = {name: missing(cls.needs, lab_of("core"), PLAN) for name, cls in discovery.drills().items()}
    assert reasons.pop("rabbitmq-node-loss") == "needs 3 rabbitmq hosts, the core lab has 1: needs --profile full"
    assert reasons.pop("dr-failover") == "needs 1 postgres_dr hosts, the core lab has 0: needs --profile full"
    assert reasons.pop("dr-failback").endswith("needs --profile full")
    assert set(reasons.values()) == {None}


def test_the_full_profile_runs_every_drill() -> None:
    assert all(missing(cls.needs, lab_of("full"), PLAN) is None for cls in discovery.drills().values())


def test_a_need_no_profile_meets_says_so() -> None:
    assert missing([Need("rabbitmq", 5)], lab_of("full"), PLAN).endswith("no lab profile has them")


@pytest.fixture
def core_lab(monkeypatch: pytest.MonkeyPatch) -> dict[str, list]:
    """`drill all` against the synthetic core lab, with each drill's run replaced (the lab is not
    here): returns the drills run, with the objectives each was given, and which drills fail."""
    ran: dict[str, list] = {}
    failing: set[str] = set()

    def run(self, lab, reports, goals):
        ran[self.name] = list(goals)
        lost = int(self.name in failing)
        return DrillResult(
            drill=self.name,
            description=self.description,
            started=0.0,
            target=(),
            measured={},
            checks=(invariant("acknowledged writes lost", lost, "= 0", lost == 0),),
            report=str(reports / self.name),
        )

    for cls in discovery.drills().values():
        monkeypatch.setattr(cls, "run", run)
    monkeypatch.setattr(drill_cli, "load_lab", lambda: lab_of("core"))
    monkeypatch.setattr(drill_cli, "load_plan", lambda: PLAN)
    return {"ran": ran, "failing": failing}


def test_drill_all_skips_what_the_lab_lacks_and_exits_0(core_lab: dict, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["drill", "all", "--reports", str(tmp_path)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "drill rabbitmq-node-loss skipped: needs 3 rabbitmq hosts, the core lab has 1: needs --profile full" in (
        result.output
    )
    assert "drill dr-failover skipped: needs 1 postgres_dr hosts" in result.output
    assert list(core_lab["ran"]) == [name for name in discovery.drills() if name not in FULL_ONLY]
    # Each drill ran against the lab inventory's objectives.
    assert {g.measurement.name: g.limit for g in core_lab["ran"]["db-primary-loss"]}["writes back after fault"] == 30
    summary = next(tmp_path.glob("drill-all-*.md")).read_text()
    assert "- rabbitmq-node-loss: skipped: needs 3 rabbitmq hosts" in summary


def test_drill_all_exits_non_zero_when_a_drill_it_ran_failed(core_lab: dict, tmp_path: Path) -> None:
    core_lab["failing"].add("db-switchover")
    result = CliRunner().invoke(app, ["drill", "all", "--reports", str(tmp_path)], terminal_width=200)
    assert result.exit_code != 0
    assert str(result.exception) == "FAILED: db-switchover"
    assert len(core_lab["ran"]) == len(discovery.drills()) - len(FULL_ONLY)  # the others still ran


def test_the_repositorys_own_plan_gives_the_same_answer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ROADIE_LAB_ROOT", str(tmp_path))  # the lab's files are never read here
    plan = load_plan()
    core, full = (Lab(tmp_path, p, load_lab(p).hosts) for p in ("core", "full"))
    for name in FULL_ONLY:
        assert missing(discovery.drills()[name].needs, core, plan).endswith("needs --profile full"), name
    assert all(missing(cls.needs, full, plan) is None for cls in discovery.drills().values())


def test_a_bad_objective_stops_drill_all_before_any_drill_starts(
    core_lab: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inventory = tmp_path / "group_vars"
    (inventory / "all").mkdir(parents=True)
    (inventory / "all" / "drills.yml").write_text("drill_objectives:\n  db-switchover:\n    write gap: -3\n")
    monkeypatch.setattr(objectives, "lab_group_vars_dir", lambda: inventory)
    for command in (["drill", "all"], ["drill", "db-primary-loss"]):
        result = CliRunner().invoke(app, [*command, "--reports", str(tmp_path)], terminal_width=200)
        assert result.exit_code != 0
        assert isinstance(result.exception, RoadieError)
        assert "db-switchover: 'write gap': the objective must be >= 0 s, got -3" in result.exception.message
    assert core_lab["ran"] == {}
