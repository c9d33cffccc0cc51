"""HAProxy for PostgreSQL: stats and metrics only with credentials."""

import httpx

from tests.support import manifest


def stats_url(lab):
    entry = manifest(lab.group("pg_lb")[0], "haproxy_pg")
    return f"http://{entry['address']}:{entry['ports']['stats']}"


def test_metrics_require_credentials(lab, running_hosts):
    assert httpx.get(f"{stats_url(lab)}/metrics", timeout=3).status_code == 401


def test_metrics_report_one_primary_server_up(lab, lab_secrets, running_hosts):
    text = httpx.get(f"{stats_url(lab)}/metrics", auth=("stats", lab_secrets["haproxy_stats"]), timeout=3).text
    up_primary = [
        line
        for line in text.splitlines()
        if line.startswith("haproxy_server_status{")
        and 'proxy="pg_primary"' in line
        and 'state="UP"' in line
        and line.endswith(" 1")
    ]
    assert len(up_primary) == 1, up_primary
