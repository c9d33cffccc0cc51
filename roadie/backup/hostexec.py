"""Run a command "on" a lab host: inside the host's cgroup, as a given user.

A lab host's processes are the members of its cgroup; a command started there is what
`ssh host command` is on a real machine: it dies with the host, and network rules that
match the host's cgroup (a fence) apply to it. A host's own services (the pgBackRest status
exporter) already run inside their host: they use `here`, which only switches the user.
"""

import os
import pwd
import subprocess
from collections.abc import Callable, Sequence
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
    return _run(host, command, argv=argv, env=env, timeout=timeout, check=check, preexec_fn=lambda: _join(procs))


def here(
    argv: Sequence[str],
    *,
    user: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 600.0,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run argv on the host this process runs on, as `user`: through runuser (root only) when
    this process runs as someone else, directly otherwise; raise on failure if check."""
    switch = user is not None and user != pwd.getpwuid(os.geteuid()).pw_name
    command = ["runuser", "-u", str(user), "--", *argv] if switch else list(argv)
    return _run("this host", command, argv=argv, env=env, timeout=timeout, check=check, preexec_fn=None)


def _run(
    where: str,
    command: list[str],
    *,
    argv: Sequence[str],
    env: dict[str, str] | None,
    timeout: float,
    check: bool,
    preexec_fn: Callable[[], None] | None,
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
        preexec_fn=preexec_fn,
    )
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise RoadieError(f"on {where}: {' '.join(argv[:3])} ... failed: {' | '.join(detail[-3:])}")
    return result


def _join(procs: Path) -> None:
    procs.write_text(str(os.getpid()))
