"""Run a command "on" a lab host: inside the host's cgroup, as a given user.

A lab host's processes are the members of its cgroup; a command started there is what
`ssh host command` is on a real machine: it dies with the host, and network rules that
match the host's cgroup (a fence) apply to it.
"""

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from roadie.errors import RoadieError
from roadie.lab import cgroup


def on_host(
    host: str,
    argv: Sequence[str],
    *,
    user: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 600.0,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run argv in the host's cgroup (as `user` through runuser); raise on failure if check."""
    procs = cgroup.group_path(host) / "cgroup.procs"
    if not procs.exists():
        raise RoadieError(f"lab host {host} has no cgroup: is it powered on? ('roadie lab up')")
    command = ["runuser", "-u", user, "--", *argv] if user else list(argv)
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
        preexec_fn=lambda: _join(procs),
    )
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise RoadieError(f"on {host}: {' '.join(argv[:3])} ... failed: {' | '.join(detail[-3:])}")
    return result


def _join(procs: Path) -> None:
    procs.write_text(str(os.getpid()))
