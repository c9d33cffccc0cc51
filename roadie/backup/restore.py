"""`roadie drill restore`: point-in-time restore of the cluster into a fresh scratch
instance, verified against the source.

1. Make sure a backup exists, then write marker rows and take a snapshot of the source:
   the target time T and a fingerprint (row count + md5) of every user table.
2. Write more markers after T (they must not come back), switch WAL and wait until the
   archive has it.
3. Restore the newest backup before T plus the WAL up to T into an empty directory on the
   repository host (pgBackRest there), start a scratch PostgreSQL on it (a transient unit
   of that host's systemd, on its address and a port of its own) and let it recover to T
   and promote.
4. Compare: every table's fingerprint, the markers before T present, none after T.
"""

import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from roadie.backup.hostexec import on_host
from roadie.backup.pgbackrest import Repository, backup_sets, info, repository, run_backup
from roadie.backup.source import Primary, primary
from roadie.errors import RoadieError
from roadie.lab.inventory import Lab

MARKER_TABLE = "restore_drill"
MARKERS_BEFORE = 200
MARKERS_AFTER = 50
POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin/postgres")
# Where the restore goes on the repository host, and the port the scratch instance listens
# on there (beside the host's own services, never the members' 5432).
SCRATCH_DIR = Path("/var/lib/pgbackrest-restore")
SCRATCH_PORT = 5433
ARCHIVE_TIMEOUT_S = 120.0
RECOVERY_TIMEOUT_S = 300.0
# Fingerprints are taken of tables up to this many rows (the lab's tables are small).
MAX_FINGERPRINT_ROWS = 2_000_000


@dataclass(frozen=True)
class TableCheck:
    database: str
    table: str
    source_rows: int
    restored_rows: int | None
    matches: bool
    # The source table changed between the snapshot and the end of the drill (live traffic):
    # its snapshot and the target time may straddle a commit, so a difference is not a loss.
    written_during_drill: bool = False


@dataclass
class RestoreResult:
    run_id: str
    target_time: str
    backup_label: str = ""
    backup_type: str = ""
    scratch_address: str = ""
    archive_wait_s: float = 0.0
    restore_s: float = 0.0
    recovery_s: float = 0.0
    markers_expected: int = MARKERS_BEFORE
    markers_restored: int = 0
    markers_after_target_restored: int = 0
    tables: list[TableCheck] = field(default_factory=list)

    @property
    def total_s(self) -> float:
        return round(self.restore_s + self.recovery_s, 2)

    @property
    def lost_rows(self) -> int:
        """Rows committed before the target that the restore does not have."""
        lost = self.markers_expected - self.markers_restored
        for table in self.tables:
            if (
                not table.written_during_drill
                and table.restored_rows is not None
                and table.restored_rows < table.source_rows
            ):
                lost += table.source_rows - table.restored_rows
        return max(0, lost)

    @property
    def verified(self) -> bool:
        return (
            self.markers_restored == self.markers_expected
            and self.markers_after_target_restored == 0
            and all(t.matches or t.written_during_drill for t in self.tables)
        )

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total_s": self.total_s, "lost_rows": self.lost_rows, "verified": self.verified}


def scratch_address(repo: Repository) -> str:
    """The scratch instance runs on the repository host, on its address."""
    if repo.host is None:
        raise RoadieError("a restore drill runs against the lab's repository host")
    return repo.host.address


def drill_restore(lab: Lab, secrets: dict[str, str], keep: bool = False) -> RestoreResult:
    repo = repository(lab)
    source = primary(lab, secrets)
    if not backup_sets(info(repo), 1):
        run_backup(repo, "full")
    backup = backup_sets(info(repo), 1)[-1]
    run_id = uuid.uuid4().hex[:12]
    _write_markers(source, run_id, "before", MARKERS_BEFORE)
    target, fingerprints = _snapshot(source)
    result = RestoreResult(run_id, target, str(backup["label"]), str(backup["type"]), scratch_address(repo))
    _write_markers(source, run_id, "after", MARKERS_AFTER)
    result.archive_wait_s = _switch_and_wait_archived(source)
    scratch = SCRATCH_DIR / f"restore-{run_id}"
    host = repo.host.name if repo.host else ""
    try:
        result.restore_s = _restore(repo, scratch, target)
        with _scratch_postgres(repo, scratch, result.scratch_address, run_id) as (started, failed):
            target_db = Primary(result.scratch_address, SCRATCH_PORT, source.password)
            _wait_promoted(target_db, failed)
            result.recovery_s = round(time.monotonic() - started, 2)
            _verify(target_db, run_id, fingerprints, result)
        _mark_live_tables(source, fingerprints, result)
    finally:
        if not keep:
            on_host(host, ["rm", "-rf", "--one-file-system", str(scratch)], check=False)
    return result


def _write_markers(source: Primary, run_id: str, phase: str, count: int) -> None:
    with source.connect("app", autocommit=True) as conn:
        conn.execute(
            f"create table if not exists {MARKER_TABLE} (run_id text not null, n int not null, phase text not null,"
            " at timestamptz not null default clock_timestamp(), primary key (run_id, n))"
        )
        offset = 0 if phase == "before" else MARKERS_BEFORE
        for n in range(offset, offset + count):
            # One commit per row: each is its own point in time.
            conn.execute(f"insert into {MARKER_TABLE} (run_id, n, phase) values (%s, %s, %s)", (run_id, n, phase))


def _databases(source: Primary) -> list[str]:
    with source.connect(autocommit=True) as conn:
        rows = conn.execute("select datname from pg_database where not datistemplate and datname <> 'postgres'")
        return sorted(r[0] for r in rows.fetchall())


def _snapshot(source: Primary) -> tuple[str, dict[tuple[str, str], tuple[int, str]]]:
    """Target time T and every table's fingerprint as of T (one snapshot per database,
    the app database's defining T)."""
    fingerprints: dict[tuple[str, str], tuple[int, str]] = {}
    target = ""
    for database in ["app", *(d for d in _databases(source) if d != "app")]:
        with source.connect(database) as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            with conn.transaction():
                now = conn.execute("select clock_timestamp()::text").fetchone()
                assert now is not None
                target = target or str(now[0])
                for table, (rows, digest) in _fingerprints(conn).items():
                    fingerprints[(database, table)] = (rows, digest)
    return target, fingerprints


def _fingerprints(conn: psycopg.Connection[Any]) -> dict[str, tuple[int, str]]:
    tables = conn.execute(
        "select format('%%I.%%I', schemaname, relname) from pg_stat_user_tables where n_live_tup < %s order by 1",
        (MAX_FINGERPRINT_ROWS,),
    ).fetchall()
    result = {}
    for (table,) in tables:
        row = conn.execute(
            f"select count(*), coalesce(md5(string_agg(t::text, chr(10) order by t::text)), '') from {table} t"
        ).fetchone()
        assert row is not None
        result[str(table)] = (int(row[0]), str(row[1]))
    return result


def _switch_and_wait_archived(source: Primary) -> float:
    started = time.monotonic()
    with source.connect(autocommit=True) as conn:
        row = conn.execute("select pg_walfile_name(pg_switch_wal())").fetchone()
        assert row is not None
        segment = str(row[0])
        while time.monotonic() - started < ARCHIVE_TIMEOUT_S:
            archived = conn.execute("select coalesce(last_archived_wal, '') from pg_stat_archiver").fetchone()
            if archived is not None and str(archived[0])[:24] >= segment:
                return round(time.monotonic() - started, 2)
            time.sleep(0.2)
    raise RoadieError(f"WAL segment {segment} was not archived within {ARCHIVE_TIMEOUT_S:.0f}s: is archiving failing?")


def _restore(repo: Repository, scratch: Path, target: str) -> float:
    data = scratch / "data"
    host = repo.host.name if repo.host else ""
    for directory, mode in ((scratch, "0755"), (scratch / "run", "0755"), (data, "0700")):
        on_host(host, ["install", "-d", "-m", mode, "-o", repo.user, "-g", repo.user, str(directory)])
    local = ["--reset-pg1-host", f"--pg1-path={data}"]
    restore_command = " ".join([*repo.command(*local), 'archive-get %f "%p"'])
    started = time.monotonic()
    repo.run(
        *local,
        "--repo=1",
        "--type=time",
        f"--target={target}",
        "--target-action=promote",
        f"--recovery-option=restore_command={restore_command}",
        "restore",
    )
    return round(time.monotonic() - started, 2)


@contextlib.contextmanager
def _scratch_postgres(repo: Repository, scratch: Path, address: str, run_id: str) -> Any:
    """PostgreSQL on the restored data, as a transient unit of the repository host; archiving
    and replication off (a restored copy must never write into the real archive)."""
    if repo.tls_cert is None or repo.tls_key is None:
        raise RoadieError("the repository host's registry names no TLS certificate: run the backup playbook again")
    settings = {
        "listen_addresses": address,
        "port": str(SCRATCH_PORT),
        "unix_socket_directories": str(scratch / "run"),
        "archive_mode": "off",
        "primary_conninfo": "",
        "primary_slot_name": "",
        "synchronous_standby_names": "",
        "logging_collector": "off",
        "cluster_name": "restore-drill",
        "hot_standby": "on",
        # The restored pg_hba admits TCP clients over TLS only, as the source does: the copy
        # holds real data. It serves the repository host's own certificate (the source's
        # configuration names the member's files, which are not on this host).
        "ssl": "on",
        "ssl_cert_file": str(repo.tls_cert),
        "ssl_key_file": str(repo.tls_key),
        # The source's configuration names its own data directory for these (Patroni).
        "hba_file": str(scratch / "data" / "pg_hba.conf"),
        "ident_file": str(scratch / "data" / "pg_ident.conf"),
    }
    unit = f"restore-drill-{run_id}"
    host = repo.host.name if repo.host else ""
    argv = [
        "systemd-run",
        f"--unit={unit}",
        f"--uid={repo.user}",
        f"--gid={repo.user}",
        # SIGINT is PostgreSQL's fast shutdown.
        "--property=KillSignal=SIGINT",
        "--collect",
        str(POSTGRES_BIN),
        "-D",
        str(scratch / "data"),
    ]
    for name, value in settings.items():
        argv += ["-c", f"{name}={value}"]
    started = time.monotonic()
    on_host(host, argv, timeout=60)

    def failed() -> str | None:
        """The unit's last log lines if it is no longer running, else None."""
        state = on_host(host, ["systemctl", "is-active", f"{unit}.service"], check=False).stdout.strip()
        if state in ("active", "activating"):
            return None
        log = on_host(host, ["journalctl", "--no-pager", "-n", "5", "-u", f"{unit}.service"], check=False)
        return " | ".join(log.stdout.strip().splitlines()[-3:])

    try:
        yield started, failed
    finally:
        on_host(host, ["systemctl", "stop", f"{unit}.service"], timeout=90, check=False)


def _wait_promoted(target: Primary, failed: Callable[[], str | None]) -> None:
    deadline = time.monotonic() + RECOVERY_TIMEOUT_S
    last: Exception | str = "not started"
    while time.monotonic() < deadline:
        if (why := failed()) is not None:
            raise RoadieError(f"the restored instance stopped: {why}")
        try:
            with target.connect(autocommit=True) as conn:
                row = conn.execute("select pg_is_in_recovery()").fetchone()
                if row is not None and row[0] is False:
                    return
                last = "still recovering"
        except psycopg.Error as exc:
            last = exc
        time.sleep(0.2)
    raise RoadieError(f"the restored instance did not finish recovery in {RECOVERY_TIMEOUT_S:.0f}s: {last}")


def _verify(
    target: Primary, run_id: str, fingerprints: dict[tuple[str, str], tuple[int, str]], result: RestoreResult
) -> None:
    with target.connect("app", autocommit=True) as conn:
        rows = conn.execute(f"select phase, count(*) from {MARKER_TABLE} where run_id = %s group by phase", (run_id,))
        counts = dict(rows.fetchall())
    result.markers_restored = int(counts.get("before", 0))
    result.markers_after_target_restored = int(counts.get("after", 0))
    restored: dict[tuple[str, str], tuple[int, str]] = {}
    for database in sorted({d for d, _ in fingerprints}):
        try:
            with target.connect(database) as conn:
                restored.update({(database, t): v for t, v in _fingerprints(conn).items()})
        except psycopg.OperationalError:
            continue
    for (database, table), (rows, digest) in sorted(fingerprints.items()):
        got = restored.get((database, table))
        result.tables.append(TableCheck(database, table, rows, got[0] if got else None, got == (rows, digest)))


def _mark_live_tables(
    source: Primary, fingerprints: dict[tuple[str, str], tuple[int, str]], result: RestoreResult
) -> None:
    """A table that differs and has changed in the source since the snapshot was being
    written during the drill: say so instead of calling it lost."""
    for index, table in enumerate(result.tables):
        if table.matches:
            continue
        with source.connect(table.database) as conn:
            now = _fingerprints(conn).get(table.table)
        if now != fingerprints[(table.database, table.table)]:
            result.tables[index] = TableCheck(
                table.database, table.table, table.source_rows, table.restored_rows, False, written_during_drill=True
            )
