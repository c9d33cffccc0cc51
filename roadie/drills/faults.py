"""Faults and repairs of lab hosts.

Whole-host faults act on the host's machine from outside, as a cloud's API or a hypervisor
would (power, pause, network); faults inside a host (a crashed process, a switchover) are
carried out by a drill playbook (ansible/playbooks/drills/) over SSH, as an operator would.
Each returns when it took effect (epoch seconds), per host.
"""

import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from roadie.errors import RoadieError
from roadie.lab import cgroup, hosts, machines
from roadie.lab.inventory import Lab, LabHost
from roadie.lab.playbook import PlaybookRun, raise_for_failure, run_playbook

STAMP = re.compile(r"drill (?P<action>\S+) (?P<host>\S+) at (?P<at>[0-9]+(?:\.[0-9]+)?)")

HOST_ACTIONS: dict[str, Callable[[LabHost], float]] = {
    "power-off": hosts.crash,
    "freeze": lambda host: _timed(cgroup.freeze, host.name),
    "thaw": lambda host: _timed(cgroup.thaw, host.name),
    "isolate": lambda host: machines.isolate(host.machine),
    "connect": lambda host: machines.connect(host.machine),
}


def _timed(action: Callable[[str], None], name: str) -> float:
    action(name)
    return time.time()


def _each(lab: Lab, names: Sequence[str], action: Callable[[LabHost], float]) -> dict[str, float]:
    targets = [lab.host(name) for name in names]
    with ThreadPoolExecutor(max_workers=max(1, len(targets))) as pool:
        return dict(zip(names, pool.map(action, targets), strict=True))


def host_action(lab: Lab, names: Sequence[str], action: str) -> dict[str, float]:
    """power-off, freeze, thaw, isolate or connect whole hosts; returns when, per host."""
    if action not in HOST_ACTIONS:
        raise RoadieError(f"unknown host action '{action}' (actions: {', '.join(HOST_ACTIONS)})")
    return _each(lab, names, HOST_ACTIONS[action])


def power_on(lab: Lab, names: Sequence[str]) -> dict[str, float]:
    """Boot hosts again (as after a repair); returns when each one accepted SSH again."""

    def boot(host: LabHost) -> float:
        hosts.power_on(host)
        return time.time()

    return _each(lab, names, boot)


def _run(lab: Lab, playbook: str, names: Sequence[str], **extra: str) -> PlaybookRun:
    run = run_playbook(
        f"drills/{playbook}",
        lab.root / "logs",
        inventory=lab.inventory_dir,
        limit=",".join(names),
        extra_vars=extra,
        show_progress=False,
    )
    raise_for_failure(run, f"drill playbook {playbook} on {', '.join(names)}")
    return run


def _stamps(run: PlaybookRun) -> dict[str, float]:
    """When the action took effect on each host, as the host itself reported it."""
    stamps = {}
    for line in run.log_file.read_text().splitlines():
        if match := STAMP.search(line):
            stamps[match["host"]] = float(match["at"])
    return stamps


def kill_process(lab: Lab, host: str, pidfile: str) -> float:
    return _stamps(_run(lab, "process-kill.yml", [host], drill_pidfile=pidfile))[host]


def switchover(lab: Lab, leader: str, candidate: str, patronictl: str, config: str) -> float:
    run = _run(
        lab,
        "switchover.yml",
        [leader],
        drill_candidate=candidate,
        drill_patronictl=patronictl,
        drill_patroni_config=config,
    )
    return _stamps(run)[leader]
