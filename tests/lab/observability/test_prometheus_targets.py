"""Prometheus scrapes every service of the lab; exporters listen on their host's address only."""

import subprocess

import httpx
import pytest

from roadie.services import registry
from tests.lab.observability.conftest import query
from tests.support import wait_until

# Jobs of services that run in the core profile today; app, suppliers and the load-balancer
# probe depend on services other issues are building (checked separately below).
INFRA_JOBS = {
    "prometheus": "monitoring",
    "alertmanager": "monitoring",
    "node": "monitoring",
    "etcd": "etcd",
    "patroni": "postgres",
    "postgres": "postgres",
    "haproxy_pg": "pg_lb",
    "redis": "redis",
    "sentinel": "sentinel",
    "rabbitmq": "rabbitmq",
    "rabbitmq_queues": "rabbitmq",
}
SERVER_KINDS = {
    "prometheus",
    "alertmanager",
    "alert_recorder",
    "node_exporter",
    "blackbox_exporter",
    "postgres_exporter",
    "redis_exporter",
    "sentinel_exporter",
}


def targets(prometheus_url):
    data = httpx.get(f"{prometheus_url}/api/v1/targets", params={"state": "active"}, timeout=10).json()
    return data["data"]["activeTargets"]


@pytest.mark.parametrize("job", sorted(INFRA_JOBS))
def test_every_target_of_the_job_is_up(job, lab, running_hosts, prometheus_url):
    expected = sorted(h.name for h in running_hosts if INFRA_JOBS[job] in h.groups)
    assert expected, f"no running host in group {INFRA_JOBS[job]}"

    def all_up():
        found = [t for t in targets(prometheus_url) if t["labels"]["job"] == job]
        hosts_up = sorted(t["labels"]["host"] for t in found if t["health"] == "up")
        return hosts_up == expected or None

    wait_until(all_up, 60, f"every {job} target up on {expected}")


def test_targets_carry_host_region_and_az_labels(prometheus_url, lab):
    for target in targets(prometheus_url):
        labels = target["labels"]
        host = lab.host(labels["host"])
        assert labels["region"] == str(host.region)
        assert labels["az"] == str(host.az)


@pytest.mark.parametrize("job", ["app", "suppliers", "blackbox_lb"])
def test_jobs_of_services_built_by_other_issues_are_configured(job, lab, prometheus_url):
    found = [t for t in targets(prometheus_url) if t["labels"]["job"] == job]
    group = {"app": "app", "suppliers": "suppliers", "blackbox_lb": "lb"}[job]
    assert sorted(t["labels"]["host"] for t in found) == sorted(h.name for h in lab.group(group))


def test_the_slo_recording_rules_and_alerts_are_loaded(prometheus_url):
    groups = httpx.get(f"{prometheus_url}/api/v1/rules", timeout=10).json()["data"]["groups"]
    names = {rule["name"] for group in groups for rule in group["rules"]}
    assert "slo:http_error_ratio:rate1h" in names
    assert {"AvailabilityZoneDown", "PatroniNoLeader", "SupplierSuccessRateLow", "TicketSalesStalled"} <= names
    assert all(rule["health"] == "ok" for group in groups for rule in group["rules"])


def test_patroni_reports_exactly_one_primary(prometheus_url):
    result = query(prometheus_url, "sum(patroni_primary)")
    assert result and float(result[0]["value"][1]) == 1


def listening_sockets() -> list[tuple[str, str]]:
    """(local address:port, process) of every listening TCP socket."""
    out = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True, check=True).stdout
    sockets = []
    for line in out.splitlines():
        fields = line.split()
        sockets.append((fields[3], fields[-1] if len(fields) > 5 else ""))
    return sockets


def test_monitoring_servers_and_exporters_listen_on_their_host_address_only(lab, running_hosts):
    sockets = listening_sockets()
    checked = 0
    for host in running_hosts:
        for entry in registry.services(host):
            if entry.kind not in SERVER_KINDS:
                continue
            for port in entry.ports.values():
                bound = [local for local, _ in sockets if local.rsplit(":", 1)[1] == str(port)]
                assert f"{host.address}:{port}" in bound, (entry.name, host.name, bound)
                assert not [b for b in bound if b.startswith(("0.0.0.0:", "*:", "[::]:"))], (entry.name, bound)
                checked += 1
    assert checked >= 10


def test_alertmanager_does_not_gossip(running_hosts):
    assert not [local for local, _ in listening_sockets() if local.endswith(":9094")]
