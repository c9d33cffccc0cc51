"""The pgBackRest status exporter: it collects the status with the code of `roadie backup
status`, serves the last good collection on /metrics, and shows a failed collection as a
metric instead of stopping.

pgBackRest is the real binary on an empty repository where it is installed, and a stand-in
script (`fake_pgbackrest`) where a test needs backups in the repository or a failure. The
primary's pg_stat_archiver needs a running PostgreSQL: tests that need a successful
collection pass a fixed archiver state (`collection_with_archiver`); the real query is only
exercised against an unreachable primary here, and in the lab test.
"""

import json
import os
import pwd
import socket
import stat
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from roadie.backup import pgbackrest, source
from roadie.backup.collect import Collection, collect
from roadie.backup.exporter import CONTENT_TYPE, MetricsServer, StatusExporter, parser
from roadie.backup.hostexec import here
from roadie.backup.status import backup_status
from roadie.errors import RoadieError
from roadie.paths import project_root
from tests.support import wait_until
from tests.unit.backup.test_backup_status import INFO

ME = pwd.getpwuid(os.geteuid()).pw_name
ARCHIVER = source.ArchiverState(
    archived_count=3,
    last_archived_wal="000000010000000000000003",
    last_archived_time=datetime.fromtimestamp(2500, UTC),
    failed_count=1,
    last_failed_wal="000000010000000000000002",
    last_failed_time=datetime.fromtimestamp(1200, UTC),
    current_wal="000000010000000000000004",
)
SEGMENTS = ["000000010000000000000002", "000000010000000000000003"]


def fake_pgbackrest(tmp_path: Path, info: object = (INFO,), segments: list[str] = SEGMENTS) -> Path:
    """A pgbackrest stand-in answering `info` and `repo-ls` with canned JSON and recording
    its arguments; it fails (exit 55, as pgBackRest does for a missing repository) while the
    file `broken` exists."""
    (tmp_path / "info.json").write_text(json.dumps(list(info)))
    listing = {f"00000001000000000000000/{name}-{'a' * 40}.zst": {"type": "file"} for name in segments}
    (tmp_path / "ls.json").write_text(json.dumps({".": {"type": "path"}, **listing}))
    script = tmp_path / "pgbackrest"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {tmp_path}/calls\n'
        f'if [ -e {tmp_path}/broken ]; then echo "ERROR: [055]: unable to load info file" >&2; exit 55; fi\n'
        'case "$*" in\n'
        f"  *repo-ls*) cat {tmp_path}/ls.json ;;\n"
        f"  *info*) cat {tmp_path}/info.json ;;\n"
        "  *) exit 1 ;;\n"
        "esac\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def repository(tmp_path: Path, binary: Path | str) -> pgbackrest.Repository:
    return pgbackrest.local_repository(tmp_path / "pgbackrest.conf", "roadie", ME, str(binary))


def collection_with_archiver(repo: pgbackrest.Repository, now: float) -> str:
    """`collect` with a fixed pg_stat_archiver (no PostgreSQL in unit tests)."""
    status = backup_status(pgbackrest.info(repo), pgbackrest.list_archive(repo, 1))
    return Collection(status, ARCHIVER, now).metrics()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def serve():
    servers = []

    def start(exporter: StatusExporter) -> str:
        server = MetricsServer(("127.0.0.1", 0), exporter)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_a_local_repository_calls_pgbackrest_with_its_config_and_stanza(tmp_path):
    repo = repository(tmp_path, fake_pgbackrest(tmp_path))
    assert pgbackrest.info(repo)["name"] == "roadie"
    assert pgbackrest.list_archive(repo, 1) == sorted(f"{n}-{'a' * 40}.zst" for n in SEGMENTS)
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls[0] == f"--config={tmp_path}/pgbackrest.conf --stanza=roadie --output=json info"
    assert calls[1].startswith(f"--config={tmp_path}/pgbackrest.conf --repo=1 --recurse --output=json repo-ls")


def test_a_failing_pgbackrest_raises_with_its_message(tmp_path):
    repo = repository(tmp_path, fake_pgbackrest(tmp_path))
    (tmp_path / "broken").touch()
    with pytest.raises(RoadieError, match=r"on this host: .*unable to load info file"):
        pgbackrest.info(repo)


def test_here_runs_as_another_user_through_runuser():
    # As root, like the lab and CI (scripts/bootstrap.sh installs pgBackRest too): a missing
    # privilege or package fails here instead of skipping the real code path.
    assert here(["id", "-un"], user="nobody").stdout.strip() == "nobody"
    assert here(["id", "-un"], user=ME).stdout.strip() == ME


def test_the_real_pgbackrest_on_an_empty_repository_collects_an_empty_status(tmp_path):
    (tmp_path / "pgbackrest.conf").write_text(
        f"[global]\nrepo1-path={tmp_path}/repo\nlog-path={tmp_path}/log\nlock-path={tmp_path}/lock\n"
        "log-level-file=off\nlog-level-console=warn\n"
    )
    text = collection_with_archiver(repository(tmp_path, "pgbackrest"), now=4000)
    assert 'pgbackrest_status_collected_timestamp_seconds{stanza="roadie"} 4000' in text
    assert 'pgbackrest_wal_archive_gaps{stanza="roadie",repo="1"} 0' in text
    assert "pgbackrest_backup_last_completion_timestamp_seconds{" not in text


def test_metrics_are_served_after_a_collection(tmp_path, serve):
    repo = repository(tmp_path, fake_pgbackrest(tmp_path))
    exporter = StatusExporter("roadie", lambda: collection_with_archiver(repo, 3000), clock=lambda: 3001)
    url = serve(exporter)
    assert exporter.refresh()
    answer = httpx.get(f"{url}/metrics", timeout=5)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == CONTENT_TYPE
    text = answer.text
    assert 'pgbackrest_backup_last_completion_timestamp_seconds{stanza="roadie",repo="1",type="full"} 1000' in text
    assert 'pgbackrest_status_collected_timestamp_seconds{stanza="roadie"} 3000' in text
    assert 'pgbackrest_archiver_last_archived_timestamp_seconds{stanza="roadie"} 2500' in text
    assert 'pgbackrest_archiver_last_failed_timestamp_seconds{stanza="roadie"} 1200' in text
    assert 'pgbackrest_status_collection_failed{stanza="roadie"} 0' in text
    assert 'pgbackrest_status_collections_total{stanza="roadie"} 1' in text
    assert 'pgbackrest_status_last_attempt_timestamp_seconds{stanza="roadie"} 3001' in text
    assert httpx.get(f"{url}/-/healthy", timeout=5).status_code == 200
    assert httpx.get(f"{url}/other", timeout=5).status_code == 404


def test_a_failed_collection_keeps_the_last_status_and_raises_the_error_gauge(tmp_path, serve):
    repo = repository(tmp_path, fake_pgbackrest(tmp_path))
    clock = iter([3000.0, 3300.0, 3600.0])
    exporter = StatusExporter("roadie", lambda: collection_with_archiver(repo, next(clock)))
    url = serve(exporter)
    assert exporter.refresh()
    (tmp_path / "broken").touch()
    assert not exporter.refresh()
    assert "unable to load info file" in exporter.last_error
    text = httpx.get(f"{url}/metrics", timeout=5).text
    assert 'pgbackrest_status_collected_timestamp_seconds{stanza="roadie"} 3000' in text
    assert 'pgbackrest_status_collection_failed{stanza="roadie"} 1' in text
    assert 'pgbackrest_status_collections_total{stanza="roadie"} 2' in text
    assert 'pgbackrest_status_collection_failures_total{stanza="roadie"} 1' in text
    (tmp_path / "broken").unlink()
    assert exporter.refresh()
    text = httpx.get(f"{url}/metrics", timeout=5).text
    assert 'pgbackrest_status_collection_failed{stanza="roadie"} 0' in text
    assert 'pgbackrest_status_collected_timestamp_seconds{stanza="roadie"} 3600' in text


def test_an_unreachable_primary_fails_the_real_collection_without_series(tmp_path):
    repo = repository(tmp_path, fake_pgbackrest(tmp_path))
    primary = source.Primary("127.0.0.1", closed_port(), None, "exporter")
    exporter = StatusExporter("roadie", lambda: collect(repo, primary).metrics())
    assert not exporter.refresh()
    assert "OperationalError" in exporter.last_error
    text = exporter.render()
    assert "pgbackrest_status_collected_timestamp_seconds" not in text
    assert 'pgbackrest_status_collection_failed{stanza="roadie"} 1' in text


def test_the_loop_refreshes_every_interval_and_survives_failures_until_stopped():
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) % 2:
            raise RoadieError("pgBackRest is busy")
        return "ok_metric 1\n"

    exporter = StatusExporter("roadie", flaky)
    stop = threading.Event()
    thread = threading.Thread(target=exporter.run, args=(0.02, stop), daemon=True)
    thread.start()
    wait_until(lambda: len(calls) >= 4, 10, "four collections")
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert "ok_metric 1" in exporter.render()


@pytest.mark.parametrize("address", ["0.0.0.0", "::", "localhost"])
def test_the_exporter_refuses_to_listen_on_every_interface(address, capsys):
    with pytest.raises(SystemExit):
        parser().parse_args(
            [
                *("--address", address, "--port", "1"),
                *("--pgbackrest-config", "/x", "--db-host", "127.0.0.1", "--db-port", "1"),
            ]
        )


def test_the_service_serves_metrics_from_its_command_line(tmp_path):
    """`python -m roadie.backup.exporter` as the role runs it; the primary is unreachable, so
    every collection fails and shows as such."""
    binary = fake_pgbackrest(tmp_path)
    port = closed_port()
    command = [
        sys.executable,
        "-m",
        "roadie.backup.exporter",
        "--address=127.0.0.1",
        f"--port={port}",
        "--interval=0.2",
        f"--pgbackrest-config={tmp_path}/pgbackrest.conf",
        f"--pgbackrest-user={ME}",
        f"--pgbackrest-bin={binary}",
        "--db-host=127.0.0.1",
        f"--db-port={closed_port()}",
    ]
    env = {**os.environ, "PYTHONPATH": str(project_root()), "PGPASSFILE": str(tmp_path / "none")}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:

        def failures() -> bool:
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            line = next(x for x in text.splitlines() if x.startswith("pgbackrest_status_collection_failures_total"))
            return int(line.rsplit(" ", 1)[1]) >= 2 and 'pgbackrest_status_collection_failed{stanza="roadie"} 1' in text

        wait_until(failures, 30, "two failed collections served on /metrics")
        assert process.poll() is None
    finally:
        process.terminate()
        _out, err = process.communicate(timeout=10)
    assert "collection of the backup status failed" in err
