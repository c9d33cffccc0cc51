"""Backups against the lab: WAL reaches the encrypted repository, backups run (full, then
incremental, from a standby), and a point-in-time restore into a scratch instance gives
back exactly the source's data as of the target time."""

import json

import pytest

from roadie.backup import pgbackrest, source
from roadie.backup.report import write_restore_report
from roadie.backup.restore import drill_restore
from roadie.backup.status import backup_status
from tests.support import wait_until


@pytest.fixture(scope="module")
def repo(lab, running_hosts):
    return pgbackrest.repository(lab)


def test_wal_archiving_works(lab, lab_secrets, repo):
    primary = source.primary(lab, lab_secrets)
    with primary.connect(autocommit=True) as conn:
        segment = conn.execute("select pg_walfile_name(pg_switch_wal())").fetchone()[0]
    state = wait_until(
        lambda: (s := source.archiver_state(primary)).last_archived_wal and s.last_archived_wal[:24] >= segment and s,
        60,
        f"segment {segment} in the archive",
    )
    assert not state.failing


def test_repository_is_encrypted(repo):
    info = pgbackrest.info(repo)
    assert info["cipher"] == "aes-256-cbc"
    assert {r["key"] for r in info["repo"]} == {1, 2}


def test_full_then_incremental_backup_from_a_standby(repo):
    full = pgbackrest.run_backup(repo, "full")
    incr = pgbackrest.run_backup(repo, "incr")
    print(f"full backup {full.seconds:.1f}s, incremental {incr.seconds:.1f}s")
    assert (full.type, incr.type) == ("full", "incr")
    sets = pgbackrest.backup_sets(pgbackrest.info(repo), 1)
    assert sets[-1]["label"] == incr.label and sets[-1]["prior"] == full.label
    status = backup_status(pgbackrest.info(repo), pgbackrest.list_archive(repo))
    assert status.last_full.label == full.label
    assert status.archive.continuous, status.archive.gaps
    log = (repo.host.root / "var" / "log" / "pgbackrest" / f"{repo.stanza}-backup.log").read_text()
    assert "replay on the standby" in log


def test_point_in_time_restore_matches_the_source(lab, lab_secrets, repo, tmp_path):
    result = drill_restore(lab, lab_secrets)
    directory = write_restore_report(tmp_path, result, 0.0)
    print(f"restore time {result.total_s}s (restore {result.restore_s}s, recovery {result.recovery_s}s)")
    assert result.markers_restored == result.markers_expected
    assert result.markers_after_target_restored == 0
    assert result.lost_rows == 0
    assert result.tables
    assert all(t.matches or t.written_during_drill for t in result.tables), [t for t in result.tables if not t.matches]
    assert any(t.matches and t.source_rows > 0 for t in result.tables)
    assert json.loads((directory / "report.json").read_text())["verified"] is True
