"""The backup status is collected continuously: the repository host's pgBackRest status
exporter serves it on the host's own address, and Prometheus has a recent status from job
pgbackrest, so the backup alerts are not blind."""

import time

import httpx
import pytest

from tests.lab.observability.conftest import query
from tests.lab.observability.test_prometheus_targets import listening_sockets
from tests.support import manifest, wait_until

SERIES = "pgbackrest_status_collected_timestamp_seconds"


@pytest.fixture(scope="module")
def exporter(lab, running_hosts) -> dict:
    [repository_host] = lab.group("backup_repo")
    return manifest(repository_host, "pgbackrest_exporter") | {"host": repository_host}


def test_the_exporter_listens_on_its_host_address_only(exporter):
    host, port = exporter["host"], exporter["ports"]["http"]
    assert exporter["address"] == host.address
    bound = [local for local, _ in listening_sockets() if local.rsplit(":", 1)[1] == str(port)]
    assert bound == [f"{host.address}:{port}"], bound


def test_the_exporter_serves_a_fresh_successful_collection(exporter):
    url = f"http://{exporter['address']}:{exporter['ports']['http']}/metrics"
    interval = float(exporter["interval"])

    def fresh() -> bool:
        text = httpx.get(url, timeout=5).text
        collected = [line for line in text.splitlines() if line.startswith(SERIES + "{")]
        failed = f'pgbackrest_status_collection_failed{{stanza="{exporter["stanza"]}"}} 0' in text
        return failed and bool(collected) and time.time() - float(collected[0].rsplit(" ", 1)[1]) < 2 * interval + 5

    wait_until(fresh, 2 * interval + 30, "a recent, successful collection on the exporter's /metrics")


def test_prometheus_has_a_recent_backup_status_from_the_exporter_job(exporter, prometheus_url):
    interval = float(exporter["interval"])
    # Fresh: collected within two collection intervals plus a scrape interval.
    expr = f'time() - {SERIES}{{job="pgbackrest", host="{exporter["host"].name}"}}'

    def recent() -> bool:
        result = query(prometheus_url, expr)
        return len(result) == 1 and float(result[0]["value"][1]) < 2 * interval + 15

    wait_until(recent, 2 * interval + 60, f"a recent {SERIES} from job pgbackrest")
    up = query(prometheus_url, f'up{{job="pgbackrest", host="{exporter["host"].name}"}}')
    assert [float(r["value"][1]) for r in up] == [1.0]
    # The series the backup alerts evaluate come from the same job.
    for series in ("pgbackrest_archiver_last_archived_timestamp_seconds", "pgbackrest_wal_archive_gaps"):
        assert query(prometheus_url, f'{series}{{job="pgbackrest"}}'), series
