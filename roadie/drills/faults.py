"""Faults and repairs, each carried out by a drill playbook (ansible/playbooks/drills/)."""

import re
from collections.abc import Sequence

from roadie.lab.inventory import Lab
from roadie.lab.playbook import PlaybookRun, raise_for_failure, run_playbook

STAMP = re.compile(r"drill (?P<action>\S+) (?P<host>\S+) at (?P<at>[0-9]+(?:\.[0-9]+)?)")


def _run(lab: Lab, playbook: str, hosts: Sequence[str], **extra: str) -> PlaybookRun:
    run = run_playbook(
        f"drills/{playbook}",
        lab.root / "logs",
        limit=",".join(hosts),
        extra_vars=extra,
        show_progress=False,
    )
    raise_for_failure(run, f"drill playbook {playbook} on {', '.join(hosts)}")
    return run


def _stamps(run: PlaybookRun) -> dict[str, float]:
    """When the action took effect on each host, as the host itself reported it."""
    stamps = {}
    for line in run.log_file.read_text().splitlines():
        if match := STAMP.search(line):
            stamps[match["host"]] = float(match["at"])
    return stamps


def host_action(lab: Lab, hosts: Sequence[str], action: str) -> dict[str, float]:
    """power-off, freeze, thaw, isolate or connect whole hosts; returns when, per host."""
    return _stamps(_run(lab, "host-control.yml", hosts, drill_action=action))


def power_on(lab: Lab, hosts: Sequence[str]) -> dict[str, float]:
    return _stamps(_run(lab, "host-power-on.yml", hosts))


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
