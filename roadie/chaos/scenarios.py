"""The chaos experiments as declarations: what each one breaks and what it waits for; the
workload, the steady-state hypothesis and the rollbacks every experiment shares are written
once here, and `chaos/*.json` is generated from this module.

Run ``python -m roadie.chaos.scenarios`` (or ``roadie chaos generate``) to rewrite the JSON
files; ``--check`` exits non-zero when a committed file differs from what this module builds
(the unit tests run it), as ``dashboards/dashboards.py`` does for the dashboards.
"""

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roadie.chaos.experiments import directory
from roadie.drills import catalog

Json = dict[str, Any]


@dataclass(frozen=True)
class Step:
    """One activity of an experiment: a roadie.chaos.<subsystem>.<kind> function."""

    kind: str  # "action" or "probe"
    name: str
    module: str
    func: str
    arguments: Mapping[str, Any] = field(default_factory=dict)

    def render(self) -> Json:
        provider: Json = {"type": "python", "module": f"roadie.chaos.{self.module}", "func": self.func}
        if self.arguments:
            provider["arguments"] = dict(self.arguments)
        return {"type": self.kind, "name": self.name, "provider": provider}


def action(name: str, module: str, func: str, **arguments: Any) -> Step:
    return Step("action", name, f"{module}.actions", func, arguments)


def probe(name: str, module: str, func: str, **arguments: Any) -> Step:
    return Step("probe", name, f"{module}.probes", func, arguments)


@dataclass(frozen=True)
class Scenario:
    """A drill's fault as a Chaos Toolkit experiment. `drill` is the drill's name (the
    experiment's file name); `replaced` waits for the platform to replace what it lost."""

    drill: str
    title: str
    description: str
    tags: tuple[str, ...]
    fault: Step
    replaced: Step | None
    recovery_s: float
    writes: str = "writes are back"
    after_writes: tuple[Step, ...] = ()
    workload: Mapping[str, Any] = field(default_factory=dict)


def _tolerance_range(low: float, high: float) -> Json:
    return {"type": "range", "range": [low, high]}


def _hypothesis() -> Json:
    """The platform's promises, judged before the fault and on the recovered platform."""
    window = {"window_s": 3.0}
    probes = [
        (probe("error rate below 0.1 %", "workload", "error_rate", **window), _tolerance_range(0.0, 0.001)),
        (probe("p95 latency below 200 ms", "workload", "p95_latency_ms", **window), _tolerance_range(0.0, 200.0)),
        (probe("no seat sold twice", "invariants", "seats_sold_twice"), 0),
        (probe("no acknowledged write lost", "workload", "acknowledged_writes_lost"), 0),
        (probe("never two writable primaries", "workload", "writable_primaries"), _tolerance_range(0, 1)),
    ]
    return {
        "title": "bookings are served within the platform's promises",
        "probes": [{**step.render(), "tolerance": tolerance} for step, tolerance in probes],
    }


def _control(scenario: Scenario) -> Json:
    provider: Json = {"type": "python", "module": "roadie.chaos.workload.control"}
    if scenario.workload:
        provider["arguments"] = dict(scenario.workload)
    return {"name": "workload", "provider": provider}


def _method(scenario: Scenario) -> list[Json]:
    timeout = {"timeout_s": scenario.recovery_s}
    steps = [
        scenario.fault,
        *([scenario.replaced] if scenario.replaced else []),
        probe(scenario.writes, "workload", "wait_for_writes", **timeout),
        *scenario.after_writes,
        probe("no errors for 5 s", "workload", "wait_until_settled", clean_s=5.0, timeout_s=60.0),
        probe("workload so far", "workload", "summary"),
    ]
    return [step.render() for step in steps]


# Rollbacks heal the lab whatever happened: exactly the hosts this run broke, then wait for
# the clusters every experiment's workload depends on.
ROLLBACKS = (
    action("heal every host the experiment broke", "lab", "heal"),
    probe("Patroni healthy again", "patroni", "wait_until_healthy", timeout_s=180.0),
    probe("Redis healthy again", "redis", "wait_until_healthy", timeout_s=120.0),
)


def build(scenario: Scenario) -> Json:
    return {
        "version": "1.0.0",
        "title": scenario.title,
        "description": scenario.description,
        "tags": ["roadie", scenario.drill, *scenario.tags],
        "contributions": {"availability": "high", "reliability": "high", "safety": "high"},
        "controls": [_control(scenario)],
        "steady-state-hypothesis": _hypothesis(),
        "method": _method(scenario),
        "rollbacks": [step.render() for step in ROLLBACKS],
    }


def _new_leader(timeout_s: float) -> Step:
    return probe("a new Patroni leader takes over", "patroni", "wait_for_new_leader", timeout_s=timeout_s)


PATRONI = ("postgres", "patroni")

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        drill=catalog.AppNodeLoss.name,
        title="Power loss of one app node",
        description="app-2 loses power; the load balancer's health checks take it out and clients see no error.",
        tags=("app", "host-loss"),
        fault=action("power off app-2", "lab", "power_off_hosts", hosts=["app-2"]),
        replaced=None,
        recovery_s=30.0,
        writes="writes are still served",
        workload={"http_path": "/readyz"},
    ),
    Scenario(
        drill=catalog.AzOutage.name,
        title="Outage of the availability zone holding the Patroni primary",
        description=(
            "Every host in the zone of the Patroni leader loses power at once (the Redis master too, when it is in"
            " that zone); the other two zones carry on."
        ),
        tags=("az", "host-loss"),
        fault=action("power off the Patroni leader's zone", "patroni", "power_off_leader_az"),
        replaced=_new_leader(90.0),
        recovery_s=90.0,
    ),
    Scenario(
        drill=catalog.DbPrimaryFreeze.name,
        title="The Patroni primary's host freezes, then thaws",
        description=(
            "The leader's host is paused for longer than the leader ttl; once a new leader exists it thaws, and the"
            " old primary must never take writes beside the new one."
        ),
        tags=(*PATRONI, "split-brain"),
        fault=action("freeze the Patroni leader's host", "patroni", "freeze_leader_host"),
        replaced=_new_leader(60.0),
        recovery_s=60.0,
        # Thawed while the workload still runs: the old primary must not answer writes.
        after_writes=(action("thaw the old primary", "lab", "heal"),),
    ),
    Scenario(
        drill=catalog.DbPrimaryLoss.name,
        title="Power loss of the Patroni primary's host",
        description=(
            "The host running the Patroni leader loses power; a synchronous standby takes over and HAProxy routes"
            " writes to it, with no acknowledged write lost."
        ),
        tags=(*PATRONI, "host-loss"),
        fault=action("power off the Patroni leader's host", "patroni", "power_off_leader_host"),
        replaced=_new_leader(60.0),
        recovery_s=60.0,
    ),
    Scenario(
        drill=catalog.DbPrimaryPartition.name,
        title="The Patroni primary's host is cut off the network",
        description=(
            "The leader's host keeps running but reaches no peer, etcd or client; it must demote, and a new leader"
            " takes over."
        ),
        tags=(*PATRONI, "split-brain"),
        fault=action("cut the Patroni leader's host off", "patroni", "isolate_leader_host"),
        replaced=_new_leader(60.0),
        recovery_s=60.0,
    ),
    Scenario(
        drill=catalog.DbSwitchover.name,
        title="Planned Patroni switchover",
        description="The Patroni leader hands over to its synchronous standby (patronictl switchover).",
        tags=(*PATRONI, "planned"),
        fault=action("switch over to the synchronous standby", "patroni", "switchover"),
        replaced=_new_leader(30.0),
        recovery_s=30.0,
    ),
    Scenario(
        drill=catalog.RedisMasterLoss.name,
        title="Power loss of the Redis master's host",
        description=(
            "The host running the Redis master (and one Sentinel) loses power; the Sentinels promote a replica and"
            " clients write again within seconds."
        ),
        tags=("redis", "sentinel", "host-loss"),
        fault=action("power off the Redis master's host", "redis", "power_off_master_host"),
        replaced=probe("the Sentinels promote a new master", "redis", "wait_for_new_master", timeout_s=30.0),
        recovery_s=30.0,
    ),
)


def render(scenario: Scenario) -> str:
    return json.dumps(build(scenario), indent=2) + "\n"


def main(argv: list[str], target: Path | None = None) -> int:
    """Write chaos/<drill>.json for every scenario; with --check, only report stale files.
    A hand-written experiment beside the generated ones would escape the shared parts, so a
    file no scenario generates fails both modes (it is never deleted here)."""
    check = "--check" in argv
    target = target or directory()
    orphans = sorted({p.name for p in target.glob("*.json")} - {f"{s.drill}.json" for s in SCENARIOS})
    stale = []
    for scenario in SCENARIOS:
        path = target / f"{scenario.drill}.json"
        text = render(scenario)
        if (path.read_text() if path.exists() else "") != text:
            stale.append(path.name)
            if not check:
                path.write_text(text)
    if orphans:
        print(f"chaos experiments no scenario generates: {', '.join(orphans)}; declare them in {__name__}")
        return 1
    if check and stale:
        print(f"stale chaos experiments: {', '.join(stale)}; run: python -m roadie.chaos.scenarios")
        return 1
    print("chaos experiments up to date" if check else f"wrote {len(SCENARIOS)} chaos experiments")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
