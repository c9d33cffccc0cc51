"""One collection of the backup status: pgBackRest's view of the repository and the primary's
pg_stat_archiver, and the Prometheus series alerts/rules/backup.yml evaluates.

`roadie backup status` (from the operator's machine) and the status exporter (a service of the
repository host, roadie.backup.exporter) both call `collect`; only how they reach pgBackRest
and the primary differs.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

from roadie.backup import pgbackrest, source
from roadie.backup.status import BackupStatus, backup_status, prometheus_text


@dataclass(frozen=True)
class Collection:
    """The backup status and the archiver's state, as collected at one moment."""

    status: BackupStatus
    archiver: source.ArchiverState
    collected_at: float  # epoch seconds

    def metrics(self) -> str:
        """The whole status as Prometheus text exposition."""
        return prometheus_text(self.status, self.collected_at) + archiver_metrics(self.status.stanza, self.archiver)


def collect(
    repository: pgbackrest.Repository, primary: source.Primary, clock: Callable[[], float] = time.time
) -> Collection:
    """Read the repository (info, WAL archive of repository 1) and the primary's archiver."""
    status = backup_status(pgbackrest.info(repository), pgbackrest.list_archive(repository, 1))
    archiver = source.archiver_state(primary)
    return Collection(status, archiver, clock())


def archiver_metrics(stanza: str, archiver: source.ArchiverState) -> str:
    labels = f'stanza="{stanza}"'
    archived = archiver.last_archived_time.timestamp() if archiver.last_archived_time else 0
    failed = archiver.last_failed_time.timestamp() if archiver.last_failed_time else 0
    return (
        "# HELP pgbackrest_archiver_last_archived_timestamp_seconds Last successful WAL archive (pg_stat_archiver).\n"
        "# TYPE pgbackrest_archiver_last_archived_timestamp_seconds gauge\n"
        f"pgbackrest_archiver_last_archived_timestamp_seconds{{{labels}}} {archived:.0f}\n"
        "# HELP pgbackrest_archiver_last_failed_timestamp_seconds Last failed WAL archive attempt (pg_stat_archiver).\n"
        "# TYPE pgbackrest_archiver_last_failed_timestamp_seconds gauge\n"
        f"pgbackrest_archiver_last_failed_timestamp_seconds{{{labels}}} {failed:.0f}\n"
        "# HELP pgbackrest_archiver_failed_total WAL archive attempts that failed (pg_stat_archiver).\n"
        "# TYPE pgbackrest_archiver_failed_total counter\n"
        f"pgbackrest_archiver_failed_total{{{labels}}} {archiver.failed_count}\n"
    )
