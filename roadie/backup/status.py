"""The state of the backups, from pgBackRest's own view of the repository: the last full
and incremental backups, their sizes, and whether the WAL archive is continuous.

Pure functions over `pgbackrest info --output=json` and the archive's file names, so the
rules are unit-tested without a lab.
"""

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

SEGMENTS_PER_LOG = 0x100  # 16 MiB segments: ...XXXXXXXX000000YY, YY in 00..FF
WAL_NAME = re.compile(r"^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})(?:-[0-9a-f]{40})?(?:\.\w+)?$")


@dataclass(frozen=True)
class BackupSummary:
    """One backup set as `roadie backup status` shows it."""

    label: str
    type: str
    repo: int
    started: float
    stopped: float
    size: int  # database size
    repo_size: int  # compressed, encrypted size in the repository
    wal_start: str
    wal_stop: str

    @property
    def seconds(self) -> float:
        return self.stopped - self.started


@dataclass(frozen=True)
class ArchiveSummary:
    """The WAL archive of one repository: its range and any holes in it."""

    first: str | None
    last: str | None
    segments: int
    gaps: tuple[tuple[str, str], ...] = ()

    @property
    def continuous(self) -> bool:
        return self.segments > 0 and not self.gaps


@dataclass(frozen=True)
class BackupStatus:
    stanza: str
    status: str
    last_full: BackupSummary | None
    last_incremental: BackupSummary | None  # the last diff or incr backup
    last_archive: BackupSummary | None  # the last backup of the yearly archive (repo 2)
    archive: ArchiveSummary
    backups: tuple[BackupSummary, ...] = field(default_factory=tuple)


def parse_segment(name: str) -> tuple[int, int] | None:
    """(timeline, segment number) of a WAL segment file name; None for other files."""
    match = WAL_NAME.match(name)
    if match is None:
        return None
    timeline, log, seg = (int(part, 16) for part in match.groups())
    return timeline, log * SEGMENTS_PER_LOG + seg


def segment_name(timeline: int, number: int) -> str:
    return f"{timeline:08X}{number // SEGMENTS_PER_LOG:08X}{number % SEGMENTS_PER_LOG:08X}"


def archive_summary(names: list[str], since: str | None = None) -> ArchiveSummary:
    """Range and holes of the archive. A timeline switch continues the numbering, so the
    union of all timelines' segments must cover every number from the first to the last.
    With `since` (the oldest backup's first WAL), older segments are ignored."""
    parsed = sorted({p for p in (parse_segment(n) for n in names) if p is not None}, key=lambda p: (p[1], p[0]))
    floor = parse_segment(since)[1] if since and parse_segment(since) else None
    if floor is not None:
        parsed = [p for p in parsed if p[1] >= floor]
    if not parsed:
        return ArchiveSummary(None, None, 0)
    numbers = sorted({number for _, number in parsed})
    gaps = tuple(
        (segment_name(_timeline_of(parsed, a), a), segment_name(_timeline_of(parsed, b), b))
        for a, b in itertools.pairwise(numbers)
        if b - a > 1
    )
    first, last = parsed[0], parsed[-1]
    return ArchiveSummary(segment_name(*first), segment_name(*last), len(numbers), gaps)


def _timeline_of(parsed: list[tuple[int, int]], number: int) -> int:
    return max(t for t, n in parsed if n == number)


def summarize_backup(entry: dict[str, Any]) -> BackupSummary:
    info = entry.get("info", {})
    return BackupSummary(
        label=str(entry["label"]),
        type=str(entry["type"]),
        repo=int(entry["database"]["repo-key"]),
        started=float(entry["timestamp"]["start"]),
        stopped=float(entry["timestamp"]["stop"]),
        size=int(info.get("size", 0)),
        repo_size=int(info.get("repository", {}).get("delta", info.get("repository", {}).get("size", 0))),
        wal_start=str(entry.get("archive", {}).get("start", "")),
        wal_stop=str(entry.get("archive", {}).get("stop", "")),
    )


def backup_status(stanza_info: dict[str, Any], archive_names: list[str]) -> BackupStatus:
    backups = tuple(sorted((summarize_backup(b) for b in stanza_info.get("backup", [])), key=lambda b: b.stopped))
    main = [b for b in backups if b.repo == 1]
    fulls = [b for b in main if b.type == "full"]
    incrementals = [b for b in main if b.type in ("diff", "incr")]
    yearly = [b for b in backups if b.repo == 2]
    since = fulls[0].wal_start if fulls else None
    return BackupStatus(
        stanza=str(stanza_info.get("name", "?")),
        status=str(stanza_info.get("status", {}).get("message", "?")),
        last_full=fulls[-1] if fulls else None,
        last_incremental=incrementals[-1] if incrementals else None,
        last_archive=yearly[-1] if yearly else None,
        archive=archive_summary(archive_names, since),
        backups=backups,
    )


def prometheus_text(status: BackupStatus, now: float) -> str:
    """The status as Prometheus text exposition (node-exporter textfile collector), the
    series alerts/rules/backup.yml evaluates."""
    lines = [
        "# HELP pgbackrest_backup_last_completion_timestamp_seconds When the last backup of a type finished.",
        "# TYPE pgbackrest_backup_last_completion_timestamp_seconds gauge",
    ]
    latest: dict[tuple[int, str], BackupSummary] = {}
    for backup in status.backups:
        latest[(backup.repo, backup.type)] = backup
    for (repo, kind), backup in sorted(latest.items()):
        labels = f'stanza="{status.stanza}",repo="{repo}",type="{kind}"'
        lines.append(f"pgbackrest_backup_last_completion_timestamp_seconds{{{labels}}} {backup.stopped:.0f}")
    lines += [
        "# HELP pgbackrest_backup_last_size_bytes Database size of the last backup of a type.",
        "# TYPE pgbackrest_backup_last_size_bytes gauge",
    ]
    for (repo, kind), backup in sorted(latest.items()):
        labels = f'stanza="{status.stanza}",repo="{repo}",type="{kind}"'
        lines.append(f"pgbackrest_backup_last_size_bytes{{{labels}}} {backup.size}")
    lines += [
        "# HELP pgbackrest_wal_archive_gaps Holes in the WAL archive since the oldest full backup.",
        "# TYPE pgbackrest_wal_archive_gaps gauge",
        f'pgbackrest_wal_archive_gaps{{stanza="{status.stanza}",repo="1"}} {len(status.archive.gaps)}',
        "# HELP pgbackrest_status_collected_timestamp_seconds When this status was collected.",
        "# TYPE pgbackrest_status_collected_timestamp_seconds gauge",
        f'pgbackrest_status_collected_timestamp_seconds{{stanza="{status.stanza}"}} {now:.0f}',
    ]
    return "\n".join(lines) + "\n"
