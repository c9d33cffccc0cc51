"""A lab host as the toolkit uses it: power through its machine, services through its systemd.

Service state is asked of the host's own systemd over SSH (as an operator would); which
services the host has comes from its service registry (roadie.services.registry).
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from roadie.lab import machines, ssh
from roadie.lab.inventory import LabHost, lab_root
from roadie.lab.machines import Bind
from roadie.services import registry

# The wheelhouse the controller builds for the hosts' pip (roadie/lab/wheelhouse.py), mounted
# read-only into every host where the lab inventory's pip configuration points.
WHEELHOUSE_TARGET = "/var/cache/roadie/wheels"
# systemd's ActiveState, in the words of the status table.
STATES = {"active": "RUNNING", "activating": "STARTING", "deactivating": "STOPPING", "inactive": "STOPPED"}


@dataclass(frozen=True)
class ServiceState:
    """One unit of the host: its name, state (RUNNING, STARTING, STOPPED, FAILED...) and the
    main process id as the host sees it (0 when it has none)."""

    name: str
    state: str
    pid: int


def ssh_files() -> ssh.SshFiles:
    return ssh.SshFiles(lab_root() / "ssh")


def is_created(host: LabHost) -> bool:
    return host.machine.image_stamp.exists()


def is_powered_on(host: LabHost) -> bool:
    return machines.is_powered_on(host.machine)


def binds() -> list[Bind]:
    wheelhouse = lab_root() / "wheels"
    return [Bind(wheelhouse, WHEELHOUSE_TARGET)] if wheelhouse.is_dir() else []


def power_on(host: LabHost, timeout: float = 60.0) -> bool:
    """Boot the host and wait for its sshd; False if it was already on."""
    started = machines.power_on(host.machine, binds())
    if started:
        machines.wait_reachable(host.machine, timeout)
    return started


def crash(host: LabHost) -> float:
    """Power loss: every process of the host dies at once and nothing restarts it."""
    return machines.power_off(host.machine)


def shutdown(host: LabHost) -> None:
    """A clean shutdown: the host's systemd stops every service."""
    machines.shutdown(host.machine)


def reconnect(host: LabHost) -> None:
    """Remove any network cut a drill put on the host."""
    machines.connect(host.machine)


def run(
    host: LabHost,
    argv: Sequence[str],
    *,
    user: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 600.0,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a command on the host over SSH, as `user` (root by default)."""
    return ssh.run(ssh_files(), host.name, argv, user=user, env=env, timeout=timeout, check=check)


def systemctl(host: LabHost, *args: str, check: bool = True) -> str:
    return run(host, ["systemctl", *args], timeout=120, check=check).stdout


def kill_service(host: LabHost, unit: str, signal: str = "KILL") -> None:
    """Crash the unit's main process (its host's systemd restarts it, as Restart= says)."""
    systemctl(host, "kill", f"--signal={signal}", "--kill-whom=main", unit)


def services(host: LabHost) -> list[ServiceState]:
    """The state of every service the registry lists for the host (empty when it is off)."""
    names = [s.name for s in registry.services(host)]
    if not names or not is_powered_on(host):
        return []
    return parse_show(systemctl(host, "show", "--property=Id,ActiveState,MainPID", *(f"{n}.service" for n in names)))


def parse_show(shown: str) -> list[ServiceState]:
    """`systemctl show` of several units: blocks of KEY=value lines, one block per unit."""
    states = []
    for block in shown.strip().split("\n\n"):
        fields = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if not fields:
            continue
        state = STATES.get(fields.get("ActiveState", ""), fields.get("ActiveState", "?").upper())
        name = fields.get("Id", "?").removesuffix(".service")
        states.append(ServiceState(name, state, int(fields.get("MainPID", 0))))
    return states


def on_disk(host: LabHost, path: str) -> Path:
    """Where a file of the host (its absolute path there) is on the controller: on its disk."""
    return host.root / path.lstrip("/")


def journal(host: LabHost, unit: str, *, lines: int | None = None, output: str = "cat") -> list[str]:
    """A unit's journal, read from the host's disk: as readable when the host is cut off,
    frozen or powered off as when it runs (journald keeps it under /var/log/journal)."""
    argv = ["journalctl", f"--directory={host.root}/var/log/journal", "--no-pager", f"--output={output}"]
    argv += ["--unit", f"{unit}.service"] + (["--lines", str(lines)] if lines else [])
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    return result.stdout.splitlines()
