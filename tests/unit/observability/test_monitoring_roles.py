"""The monitoring roles render valid production configuration bound to the host's address.

Grafana, Loki, Promtail and Jaeger cannot run on this machine (no packages); their
templates and systemd units are rendered here instead. Prometheus' and Alertmanager's
rendered configuration is checked by their own tools.
"""

import configparser
import subprocess

import pytest
import yaml

from tests.unit.observability.conftest import repo_path, tool
from tests.unit.observability.role_render import (
    ADDRESS,
    HOSTVARS,
    render_template,
    role_variables,
    service_vars,
    systemd_unit,
    write,
)

SECRET = "s3cret-s3cret-s3cret"


def test_prometheus_scrapes_every_service_group_of_the_inventory(tmp_path):
    variables = role_variables(
        "prometheus", {"prometheus_haproxy_stats_password": SECRET, "prometheus_app_operator_token": SECRET + "-op"}
    )
    text = render_template("prometheus", "prometheus.yml.j2", variables)
    config = yaml.safe_load(text)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert {"patroni", "postgres", "redis", "sentinel", "haproxy_pg", "rabbitmq", "etcd", "app", "suppliers"} <= set(
        jobs
    )
    assert {"node", "blackbox_lb", "prometheus", "alertmanager"} <= set(jobs)
    patroni = jobs["patroni"]["static_configs"][0]
    assert patroni["targets"] == [f"{HOSTVARS['db-1']['roadie_address']}:8008"]
    assert patroni["labels"] == {"host": "db-1", "region": "1", "az": str(HOSTVARS["db-1"]["roadie_az"])}
    assert jobs["haproxy_pg"]["basic_auth"] == {"username": "stats", "password": SECRET}
    # Patroni's REST API, etcd, RabbitMQ's metrics and HAProxy's stats are HTTPS from the
    # internal CA: verified against the CA the role installs.
    for name in ("patroni", "etcd", "rabbitmq", "rabbitmq_queues", "haproxy_pg"):
        assert (jobs[name]["scheme"], jobs[name]["tls_config"]) == ("https", {"ca_file": "/etc/prometheus/ca.crt"})
    assert sorted(name for name, job in jobs.items() if job.get("scheme") == "https") == [
        "etcd",
        "haproxy_pg",
        "patroni",
        "rabbitmq",
        "rabbitmq_queues",
    ]
    # The app's /metrics needs the operator token; no other job is sent it.
    assert jobs["app"]["authorization"] == {"type": "Bearer", "credentials": SECRET + "-op"}
    assert [name for name, job in jobs.items() if "authorization" in job] == ["app"]
    assert jobs["blackbox_lb"]["relabel_configs"][-1]["replacement"] == f"{ADDRESS}:9115"
    # The load balancer is probed as users reach it: over HTTPS.
    assert all(t.startswith("https://") for c in jobs["blackbox_lb"]["static_configs"] for t in c["targets"])
    (tmp_path / "rules").mkdir()
    result = subprocess.run(
        [tool("promtool"), "check", "config", "--syntax-only", str(write(tmp_path, "prometheus.yml", text))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_leaves_out_excluded_hosts():
    variables = role_variables(
        "prometheus", {"prometheus_haproxy_stats_password": SECRET, "prometheus_exclude_hosts": ["mq-1"]}
    )
    config = yaml.safe_load(render_template("prometheus", "prometheus.yml.j2", variables))
    rabbit = next(j for j in config["scrape_configs"] if j["job_name"] == "rabbitmq")
    assert rabbit["static_configs"] == []


@pytest.mark.parametrize(
    ("overrides", "kinds"),
    [
        ({"alertmanager_chat_webhook_url": "https://chat.example/hooks/T0/B0/x"}, {"slack_configs"}),
        ({"alertmanager_webhook_urls": ["http://127.1.0.61:9095/x"]}, {"webhook_configs"}),
    ],
    ids=["production-chat", "lab-recorder"],
)
def test_alertmanager_config_is_valid_with_chat_or_recorder(tmp_path, overrides, kinds):
    text = render_template("alertmanager", "alertmanager.yml.j2", role_variables("alertmanager", overrides))
    config = yaml.safe_load(text)
    assert [r["name"] for r in config["receivers"]] == ["critical", "warning"]
    for receiver in config["receivers"]:
        assert set(receiver) - {"name"} == kinds
    result = subprocess.run(
        [tool("amtool"), "check-config", str(write(tmp_path, "alertmanager.yml", text))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_alertmanager_group_interval_is_the_routing_files_unless_overridden():
    def intervals(overrides: dict) -> list[str | None]:
        variables = role_variables(
            "alertmanager", {"alertmanager_webhook_urls": ["http://127.1.0.61:9095/x"], **overrides}
        )
        route = yaml.safe_load(render_template("alertmanager", "alertmanager.yml.j2", variables))["route"]
        return [route.get("group_interval")] + [r.get("group_interval") for r in route["routes"]]

    routing = yaml.safe_load(repo_path("alerts", "alertmanager", "routing.yml").read_text())["route"]
    assert intervals({}) == [routing["group_interval"]] + [r.get("group_interval") for r in routing["routes"]]
    lab = intervals({"alertmanager_group_interval": "20s"})
    assert lab[0] == "20s"
    assert all(i in ("20s", None) for i in lab[1:]), "a sub-route keeps its own interval only if it set none"


def test_alertmanager_does_not_gossip_on_all_interfaces():
    command = service_vars("alertmanager", role_variables("alertmanager"))["service_unit_command"]
    assert "--cluster.listen-address=" in command
    assert f"--web.listen-address={ADDRESS}:9093" in command


def test_grafana_renders_config_datasources_and_dashboard_provider():
    variables = role_variables("grafana", {"grafana_admin_password": SECRET})
    ini = configparser.ConfigParser()
    ini.read_string(render_template("grafana", "grafana.ini.j2", variables))
    assert ini["server"]["http_addr"] == ADDRESS
    assert ini["auth.anonymous"]["enabled"] == "false"
    datasources = yaml.safe_load(render_template("grafana", "datasources.yml.j2", variables))["datasources"]
    assert {d["uid"] for d in datasources} == {"prometheus", "alertmanager", "loki", "jaeger"}
    provider = yaml.safe_load(render_template("grafana", "dashboards.yml.j2", variables))["providers"][0]
    assert provider["options"]["path"].endswith("/etc/grafana/dashboards")
    assert "ExecStart=/usr/share/grafana/bin/grafana server" in systemd_unit("grafana", variables)


def test_loki_listens_on_the_host_address_and_keeps_logs_30_days():
    variables = role_variables("loki")
    config = yaml.safe_load(render_template("loki", "loki.yml.j2", variables))
    assert config["server"]["http_listen_address"] == ADDRESS
    assert config["limits_config"]["retention_period"] == "720h"
    assert "ExecStart=/usr/bin/loki -config.file=/etc/loki/loki.yml" in systemd_unit("loki", variables)


def test_promtail_ships_files_and_journal_with_host_labels():
    variables = role_variables("promtail", {"promtail_loki_url": "http://10.1.2.61:3100/loki/api/v1/push"})
    config = yaml.safe_load(render_template("promtail", "promtail.yml.j2", variables))
    assert config["server"]["http_listen_address"] == ADDRESS
    files, journal = config["scrape_configs"]
    assert files["static_configs"][0]["labels"]["host"] == "mon"
    assert journal["journal"]["labels"]["job"] == "journal"
    assert "promtail" in systemd_unit("promtail", variables)


def test_jaeger_binds_every_listener_to_the_host_address():
    variables = role_variables("jaeger", {"jaeger_checksum": "sha256:" + "0" * 64})
    command = service_vars("jaeger", variables)["service_unit_command"]
    listeners = [arg.split("=", 1)[1] for arg in command if "host-port=" in arg and not arg.endswith("=")]
    assert listeners
    assert all(value.startswith(f"{ADDRESS}:") for value in listeners), listeners
    assert f"--collector.otlp.grpc.host-port={ADDRESS}:4317" in command
    assert "SPAN_STORAGE_TYPE=badger" in systemd_unit("jaeger", variables)


@pytest.mark.parametrize(
    "role", ["node_exporter", "postgres_exporter", "blackbox_exporter", "prometheus", "alertmanager"]
)
def test_servers_and_exporters_listen_on_the_host_address_only(role):
    command = service_vars(role, role_variables(role, {f"{role}_db_password": SECRET}))["service_unit_command"]
    listen = [arg for arg in command if arg.startswith("--web.listen-address=")]
    assert listen == [f"--web.listen-address={ADDRESS}:{listen[0].rsplit(':', 1)[1]}"], command
