"""cgroup v2 groups of lab hosts: kill (power loss), freeze and thaw as one unit."""

import time
from functools import cache
from pathlib import Path

from roadie.errors import RoadieError

GROUP_PARENT = "roadie"


@cache
def cgroup2_mount() -> Path:
    """/sys/fs/cgroup on pure-v2 machines, /sys/fs/cgroup/unified on hybrid ones."""
    for line in Path("/proc/mounts").read_text().splitlines():
        fields = line.split()
        if len(fields) > 2 and fields[2] == "cgroup2":
            return Path(fields[1])
    raise RoadieError("no cgroup2 filesystem is mounted; the lab needs cgroup v2")


def group_path(host: str) -> Path:
    return cgroup2_mount() / GROUP_PARENT / host


def relative_group(host: str) -> str:
    """The group as iptables' `-m cgroup --path` wants it."""
    return f"{GROUP_PARENT}/{host}"


def create(host: str) -> Path:
    group = group_path(host)
    group.mkdir(parents=True, exist_ok=True)
    return group


def is_populated(host: str) -> bool:
    """Whether any process lives in the host's group or below it (a booted machine's systemd
    makes groups of its own under it)."""
    events = group_path(host) / "cgroup.events"
    return events.exists() and "populated 1" in events.read_text()


def pids(host: str) -> list[int]:
    procs = group_path(host) / "cgroup.procs"
    if not procs.exists():
        return []
    return [int(p) for p in procs.read_text().split()]


def kill(host: str, timeout: float = 10.0) -> None:
    """Kill every process of the host at once, like pulling its power cord."""
    group = group_path(host)
    if not group.exists():
        return
    thaw(host)
    (group / "cgroup.kill").write_text("1")
    _wait_empty(host, timeout)


def freeze(host: str) -> None:
    _write_freeze(host, "1")


def thaw(host: str) -> None:
    _write_freeze(host, "0")


def is_frozen(host: str) -> bool:
    events = group_path(host) / "cgroup.events"
    return events.exists() and "frozen 1" in events.read_text()


def remove(host: str) -> None:
    """Remove the host's (empty) group and the groups its systemd left below it."""
    group = group_path(host)
    if not group.exists():
        return
    for child in sorted((p for p in group.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        child.rmdir()
    group.rmdir()


def _write_freeze(host: str, value: str) -> None:
    control = group_path(host) / "cgroup.freeze"
    if not control.exists():
        raise RoadieError(f"lab host {host} has no cgroup (is it powered on?)")
    control.write_text(value)


def _wait_empty(host: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while is_populated(host):
        if time.monotonic() > deadline:
            raise RoadieError(f"processes of lab host {host} survived cgroup.kill: {pids(host)}")
        time.sleep(0.05)
