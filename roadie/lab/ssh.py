"""SSH to the lab hosts as Ansible reaches them: the deploy user, the lab's key, pinned host keys.

`roadie lab up` writes, under the lab's root, an ed25519 key pair (0600), a `known_hosts` with
every host's own key (generated when the host is provisioned) and an `ssh_config` that names
every host and multiplexes connections (ControlPersist), so that the toolkit's commands on a
host cost one round trip after the first.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from roadie.errors import RoadieError
from roadie.lab.plan import DEPLOY_USER


@dataclass(frozen=True)
class SshFiles:
    """The lab's SSH material, all under `<lab root>/ssh`."""

    directory: Path

    @property
    def private_key(self) -> Path:
        return self.directory / "id_ed25519"

    @property
    def public_key(self) -> Path:
        return self.directory / "id_ed25519.pub"

    @property
    def known_hosts(self) -> Path:
        return self.directory / "known_hosts"

    @property
    def config(self) -> Path:
        return self.directory / "config"


def ensure_key(files: SshFiles) -> str:
    """The lab's public key, generating the pair once per lab."""
    files.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not files.private_key.exists():
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "roadie-lab", "-f", str(files.private_key)],
            check=True,
        )
    return files.public_key.read_text().strip()


def write_client_files(files: SshFiles, hosts: Iterable[tuple[str, str, str]]) -> None:
    """known_hosts and ssh_config for (name, address, host public key) of every host."""
    entries = sorted(hosts)
    known = [f"{name},{address} {key.split()[0]} {key.split()[1]}" for name, address, key in entries]
    _write(files.known_hosts, "\n".join(known) + "\n")
    blocks = [f"Host {name} {address}\n  HostName {address}\n" for name, address, _ in entries]
    defaults = (
        "Host *\n"
        f"  User {DEPLOY_USER}\n"
        f"  IdentityFile {files.private_key}\n"
        "  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {files.known_hosts}\n"
        "  StrictHostKeyChecking yes\n"
        "  BatchMode yes\n"
        "  ConnectTimeout 5\n"
        "  ServerAliveInterval 5\n"
        "  ServerAliveCountMax 2\n"
        "  ControlMaster auto\n"
        f"  ControlPath {files.directory}/cm-%C\n"
        "  ControlPersist 120\n"
        "  LogLevel ERROR\n"
    )
    _write(files.config, "".join(blocks) + defaults)


def remote_command(argv: Sequence[str], *, user: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """The shell line that runs argv on a host through sudo (as `user`, root by default)."""
    prefix = ["sudo", "-n"] + (["-u", user] if user else []) + ["--"]
    assignments = ["env", *(f"{k}={v}" for k, v in sorted((env or {}).items()))] if env else []
    return shlex.join([*prefix, *assignments, *argv])


def run(
    files: SshFiles,
    host: str,
    argv: Sequence[str],
    *,
    user: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 600.0,
    check: bool = True,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run argv on `host` as `user` (root by default); raise with its last lines if check."""
    command = ["ssh", "-F", str(files.config), host, remote_command(argv, user=user, env=env)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False, input=stdin)
    except subprocess.TimeoutExpired as err:
        raise RoadieError(f"on {host}: {shlex.join(argv[:3])} ... did not finish within {timeout:.0f}s") from err
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        what = f"{shlex.join(argv[:3])} ... failed ({result.returncode})"
        raise RoadieError(f"on {host}: {what}: {' | '.join(detail[-3:])}")
    return result


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.chmod(0o600)
    tmp.replace(path)
