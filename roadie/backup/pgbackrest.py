"""pgBackRest on the repository host: run backups, read the repository's state.

The repository host is the one host of the inventory group `backup_repo`; its service
registry entry (written by the pgbackrest role) names the configuration, stanza and user.
Every command runs on that host (inside its cgroup), as production's cron would; the status
exporter, a service of that host, calls pgBackRest there directly (`local_repository`).
"""

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roadie.backup.hostexec import here, on_host
from roadie.errors import RoadieError
from roadie.lab.inventory import Lab, LabHost
from roadie.services import registry

BACKUP_TYPES = ("full", "diff", "incr")
REPO_GROUP = "backup_repo"
PGBACKREST = "pgbackrest"


@dataclass(frozen=True)
class Repository:
    """Where pgBackRest's repository lives and how to call it there: on a lab host, or on the
    host this process runs on (host None)."""

    host: LabHost | None
    config: Path
    stanza: str
    user: str
    binary: str = PGBACKREST
    # The host's certificate and key from the internal CA (None: not given by the registry).
    tls_cert: Path | None = None
    tls_key: Path | None = None

    def command(self, *args: str, stanza: bool = True) -> list[str]:
        return [self.binary, f"--config={self.config}", *([f"--stanza={self.stanza}"] if stanza else []), *args]

    def run(self, *args: str, timeout: float = 3600.0, check: bool = True, stanza: bool = True) -> str:
        command = self.command(*args, stanza=stanza)
        if self.host is None:
            return here(command, user=self.user, timeout=timeout, check=check).stdout
        return on_host(self.host.name, command, user=self.user, timeout=timeout, check=check).stdout


@dataclass(frozen=True)
class BackupRun:
    """One finished backup: its type, repository, label and how long it took."""

    type: str
    repo: int
    label: str
    seconds: float


def repository(lab: Lab) -> Repository:
    members = lab.group(REPO_GROUP)
    if not members:
        raise RoadieError(f"the inventory has no '{REPO_GROUP}' host")
    host = members[0]
    entry = registry.find(host, "pgbackrest")
    if entry is None:
        raise RoadieError(f"pgBackRest is not installed on {host.name}: run the backup playbook ('roadie lab up')")
    return Repository(
        host,
        entry.path("config"),
        entry.text("stanza"),
        entry.user or "postgres",
        tls_cert=entry.path("tls_cert"),
        tls_key=entry.path("tls_key"),
    )


def local_repository(config: Path, stanza: str, user: str, binary: str = PGBACKREST) -> Repository:
    """The repository as seen from the repository host itself (a service of that host)."""
    return Repository(None, config, stanza, user, binary)


def run_backup(repo: Repository, backup_type: str = "incr", repo_number: int = 1) -> BackupRun:
    """Take a backup (pgBackRest turns the first incr/diff into a full one)."""
    if backup_type not in BACKUP_TYPES:
        raise RoadieError(f"unknown backup type '{backup_type}' (types: {', '.join(BACKUP_TYPES)})")
    started = time.monotonic()
    repo.run(f"--repo={repo_number}", f"--type={backup_type}", "backup")
    seconds = time.monotonic() - started
    backups = backup_sets(info(repo), repo_number)
    if not backups:
        raise RoadieError(f"pgBackRest reported success but repository {repo_number} lists no backup")
    last = backups[-1]
    return BackupRun(str(last["type"]), repo_number, str(last["label"]), seconds)


def expire(repo: Repository) -> str:
    """Apply the retention policy (pgBackRest also expires after every backup)."""
    return repo.run("expire")


def info(repo: Repository) -> dict[str, Any]:
    """The stanza's entry of `pgbackrest info --output=json`."""
    data = json.loads(repo.run("--output=json", "info", timeout=120))
    if not data:
        raise RoadieError(f"pgBackRest knows no stanza '{repo.stanza}'")
    return dict(data[0])


def backup_sets(stanza_info: dict[str, Any], repo_number: int | None = None) -> list[dict[str, Any]]:
    """Backups in the order they were taken, optionally only those of one repository."""
    backups = [
        b for b in stanza_info.get("backup", []) if repo_number is None or b["database"]["repo-key"] == repo_number
    ]
    return sorted(backups, key=lambda b: b["timestamp"]["stop"])


def list_archive(repo: Repository, repo_number: int = 1) -> list[str]:
    """Names of the WAL segments in a repository's archive (every timeline)."""
    out = repo.run(
        f"--repo={repo_number}", "--recurse", "--output=json", "repo-ls", f"archive/{repo.stanza}", stanza=False
    )
    return sorted(Path(name).name for name, entry in json.loads(out).items() if entry.get("type") == "file")
