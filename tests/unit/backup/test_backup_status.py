"""`roadie backup status`: last backups, sizes and the WAL archive's continuity, from
pgBackRest's JSON and the archive's file names."""

from roadie.backup.status import archive_summary, backup_status, parse_segment, prometheus_text, segment_name


def backup(label, kind, stop, repo=1, size=100, wal_start="000000010000000000000002"):
    return {
        "label": label,
        "type": kind,
        "database": {"id": 1, "repo-key": repo},
        "timestamp": {"start": stop - 10, "stop": stop},
        "info": {"size": size, "delta": size, "repository": {"size": size // 2, "delta": size // 4}},
        "archive": {"start": wal_start, "stop": wal_start},
    }


INFO = {
    "name": "roadie",
    "status": {"code": 0, "message": "ok"},
    "backup": [
        backup("20261122-000000F", "full", 1000),
        backup("20261122-000000F_20261122-060000I", "incr", 2000, size=120),
        backup("20261122-010000F", "full", 1500, repo=2),
    ],
}


def test_segment_names_parse_with_and_without_pgbackrest_suffixes():
    assert parse_segment("000000010000000000000003") == (1, 3)
    assert parse_segment("000000020000000100000000-" + "a" * 40 + ".zst") == (2, 256)
    assert parse_segment("00000002.history") is None
    assert segment_name(2, 256) == "000000020000000100000000"


def test_continuous_archive_across_a_timeline_switch():
    names = ["000000010000000000000002", "000000010000000000000003", "000000020000000000000004"]
    summary = archive_summary(names)
    assert summary.continuous
    assert (summary.first, summary.last, summary.segments) == (names[0], names[-1], 3)


def test_a_missing_segment_is_a_gap():
    names = [
        "000000010000000000000002",
        "000000010000000000000005",
        "0000000100000000000000FF",
        "000000010000000100000000",
    ]
    summary = archive_summary(names)
    assert not summary.continuous
    assert summary.gaps == (
        ("000000010000000000000002", "000000010000000000000005"),
        ("000000010000000000000005", "0000000100000000000000FF"),
    )


def test_segments_older_than_the_oldest_full_backup_are_ignored():
    names = ["000000010000000000000001", "000000010000000000000003", "000000010000000000000004"]
    assert archive_summary(names, since="000000010000000000000003").continuous


def test_status_picks_the_last_full_incremental_and_yearly_backup():
    status = backup_status(INFO, ["000000010000000000000002", "000000010000000000000003"])
    assert status.last_full is not None and status.last_full.label == "20261122-000000F"
    assert status.last_incremental is not None and status.last_incremental.type == "incr"
    assert status.last_incremental.size == 120
    assert status.last_archive is not None and status.last_archive.repo == 2
    assert status.archive.continuous


def test_prometheus_text_has_the_series_the_alerts_use():
    text = prometheus_text(backup_status(INFO, ["000000010000000000000002"]), now=3000)
    assert 'pgbackrest_backup_last_completion_timestamp_seconds{stanza="roadie",repo="1",type="full"} 1000' in text
    assert 'pgbackrest_backup_last_completion_timestamp_seconds{stanza="roadie",repo="1",type="incr"} 2000' in text
    assert 'pgbackrest_backup_last_completion_timestamp_seconds{stanza="roadie",repo="2",type="full"} 1500' in text
    assert 'pgbackrest_wal_archive_gaps{stanza="roadie",repo="1"} 0' in text
    assert 'pgbackrest_status_collected_timestamp_seconds{stanza="roadie"} 3000' in text
