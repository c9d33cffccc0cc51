"""Power control of lab hosts: each host's supervisord is its init."""

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from roadie.errors import RoadieError
from roadie.lab import cgroup
from roadie.lab.inventory import LabHost


@dataclass(frozen=True)
class ProgramState:
    """One supervisord program: its name, state (RUNNING, STARTING, FATAL...) and detail."""

    name: str
    state: str
    detail: str


def supervisor_conf(host: LabHost) -> Path:
    return host.root / "etc" / "supervisord.conf"


def is_created(host: LabHost) -> bool:
    return supervisor_conf(host).exists()


def is_powered_on(host: LabHost) -> bool:
    pidfile = host.root / "run" / "supervisord.pid"
    if not pidfile.exists():
        return False
    try:
        pid = int(pidfile.read_text().strip())
    except ValueError:
        return False
    return pid in cgroup.pids(host.name)


def power_on(host: LabHost) -> bool:
    """Start the host's supervisord in its cgroup; True if it was off."""
    script = host.root / "bin" / "lab-host"
    if not script.exists():
        raise RoadieError(f"lab host {host.name} was never created: run 'roadie lab up'")
    result = subprocess.run([str(script), "power-on"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RoadieError(f"could not power on {host.name}: {result.stderr.strip()}")
    return "started" in result.stdout


def reconnect(host: LabHost) -> None:
    """Remove any network cut (iptables rule) a drill put on the host."""
    script = host.root / "bin" / "lab-host"
    if script.exists():
        subprocess.run([str(script), "connect"], capture_output=True, check=False, timeout=30)


def power_off(host: LabHost, timeout: float = 90.0) -> None:
    """Shut the host down cleanly: supervisord stops its programs, then exits."""
    if is_powered_on(host):
        supervisorctl(host, "shutdown", check=False)
        deadline = time.monotonic() + timeout
        while cgroup.pids(host.name) and time.monotonic() < deadline:
            time.sleep(0.1)
    # Whatever did not stop in time (a stuck program) goes down hard.
    cgroup.kill(host.name)


def crash(host: LabHost) -> None:
    """Power loss: every process of the host dies at once and nothing restarts it."""
    cgroup.kill(host.name)


def supervisorctl(host: LabHost, *args: str, check: bool = True) -> str:
    result = subprocess.run(
        ["supervisorctl", "-c", str(supervisor_conf(host)), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    # supervisorctl exits 3 when some program is not running: that is an answer, not a failure.
    if check and result.returncode not in (0, 3):
        raise RoadieError(f"supervisorctl {' '.join(args)} on {host.name} failed: {result.stdout.strip()}")
    return result.stdout


def programs(host: LabHost) -> list[ProgramState]:
    if not is_powered_on(host):
        return []
    states = []
    for line in supervisorctl(host, "status", check=False).splitlines():
        parts = line.split(None, 2)
        if len(parts) >= 2:
            states.append(ProgramState(parts[0], parts[1], parts[2] if len(parts) > 2 else ""))
    return states


def manifests(host: LabHost) -> list[dict[str, object]]:
    """The services the roles installed on the host (etc/roadie/services.d/*.json)."""
    registry = host.root / "etc" / "roadie" / "services.d"
    if not registry.is_dir():
        return []
    return [json.loads(p.read_text()) for p in sorted(registry.glob("*.json"))]
