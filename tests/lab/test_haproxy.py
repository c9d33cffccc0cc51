"""HAProxy for PostgreSQL: stats and metrics only over HTTPS and with credentials."""

import httpx
import pytest

from roadie.services import internal_tls, registry


def stats_url(lab) -> str:
    return registry.service(lab.group("pg_lb")[0], "haproxy_pg").url("stats")


def test_stats_are_served_over_https_only(lab, running_hosts):
    url = stats_url(lab)
    assert url.startswith("https://")
    with pytest.raises(httpx.TransportError):
        httpx.get(url.replace("https://", "http://", 1) + "/metrics", timeout=3)


def test_metrics_require_credentials(lab, running_hosts):
    assert httpx.get(f"{stats_url(lab)}/metrics", timeout=3, verify=internal_tls.http_verify()).status_code == 401


def test_metrics_report_one_primary_server_up(lab, lab_secrets, running_hosts):
    auth = ("stats", lab_secrets["haproxy_stats"])
    text = httpx.get(f"{stats_url(lab)}/metrics", auth=auth, timeout=3, verify=internal_tls.http_verify()).text
    up_primary = [
        line
        for line in text.splitlines()
        if line.startswith("haproxy_server_status{")
        and 'proxy="pg_primary"' in line
        and 'state="UP"' in line
        and line.endswith(" 1")
    ]
    assert len(up_primary) == 1, up_primary
