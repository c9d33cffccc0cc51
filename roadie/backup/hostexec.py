"""Run a command on a lab host, as a given user: over SSH, as an operator would.

The command runs inside the host (it dies with the host, and network rules that match the
host, such as a region's fence, apply to it). A host's own services (the pgBackRest status
exporter) already run on their host: they use `here`, which only switches the user.
"""

import os
import pwd
import subprocess
from collections.abc import Sequence

from roadie.errors import RoadieError
from roadie.lab import ssh
from roadie.lab.inventory import lab_root
from roadie.lab.ssh import SshFiles


def on_host(
    host: str,
    argv: Sequence[str],
    *,
    user: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 600.0,
    check: bool = True,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run argv on the host over SSH (as `user`, root by default); raise on failure if check.

    A secret goes in `stdin`, never in argv or env: sudo logs the whole command line to the
    host's journal."""
    files = SshFiles(lab_root() / "ssh")
    return ssh.run(files, host, argv, user=user, env=env, timeout=timeout, check=check, stdin=stdin)


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
    return _run("this host", command, argv=argv, env=env, timeout=timeout, check=check)


def _run(
    where: str,
    command: list[str],
    *,
    argv: Sequence[str],
    env: dict[str, str] | None,
    timeout: float,
    check: bool,
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise RoadieError(f"on {where}: {' '.join(argv[:3])} ... failed: {' | '.join(detail[-3:])}")
    return result
