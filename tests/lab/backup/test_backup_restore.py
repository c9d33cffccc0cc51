"""Backups against the lab: WAL reaches the encrypted repository, backups run (full, then
incremental, from a standby), and a point-in-time restore into a scratch instance gives
back exactly the source's data as of the target time."""

import json

import pytest

from roadie.backup import pgbackrest, source
from roadie.backup.drill import RestoreDrill
from roadie.backup.status import backup_status
from roadie.drills import discovery
from roadie.drills.objectives import lab_objectives
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


def test_point_in_time_restore_matches_the_source(lab, repo, tmp_path):
    """The restore drill as `roadie drill restore` runs it, against the lab's objectives."""
    result = RestoreDrill().run(lab, tmp_path, lab_objectives(discovery.drills())["restore"])
    restored = result.details["restore"]
    print(result.measured, [c.as_dict() for c in result.objectives])
    assert restored["markers_restored"] == restored["markers_expected"]
    assert result.measured["markers after the target restored"] == 0
    assert result.measured["rows lost"] == 0
    tables = restored["tables"]
    assert tables
    assert all(t["matches"] or t["written_during_drill"] for t in tables), [t for t in tables if not t["matches"]]
    assert any(t["matches"] and t["source_rows"] > 0 for t in tables)
    assert result.check("restored data matches the source").met is True
    assert result.passed, result.checks
    report = json.loads((tmp_path / result.report.split("/")[-1] / "report.json").read_text())
    assert report["restore"]["verified"] is True and report["passed"] is True
