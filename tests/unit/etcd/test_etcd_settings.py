"""The etcd role's settings file, rendered for a production host: what etcd will enforce."""

import yaml

from tests.unit.observability.role_render import ROLES, render_template, role_variables, systemd_unit


def settings(overrides: dict | None = None) -> dict[str, str]:
    role_vars = yaml.safe_load((ROLES / "etcd" / "vars" / "main.yml").read_text())
    variables = role_variables(
        "etcd", {"inventory_hostname": "db-1", "roadie_address": "10.1.1.11", **role_vars, **(overrides or {})}
    )
    lines = render_template("etcd", "etcd.env.j2", variables).splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_every_url_is_https_on_the_hosts_address():
    found = settings()
    urls = [found[k] for k in ("ETCD_LISTEN_CLIENT_URLS", "ETCD_ADVERTISE_CLIENT_URLS", "ETCD_LISTEN_PEER_URLS")]
    assert all(url.startswith("https://10.1.1.11:") for url in urls), urls
    assert found["ETCD_INITIAL_CLUSTER"].split("=", 1)[1].startswith("https://")


def test_peers_need_a_certificate_from_the_ca_and_clients_need_none():
    found = settings()
    assert found["ETCD_PEER_CLIENT_CERT_AUTH"] == "true"
    assert found["ETCD_PEER_TRUSTED_CA_FILE"].endswith("/tls/ca.crt")
    # A client trusted CA file makes etcd demand client certificates: Patroni and the
    # toolkit, which authenticate with passwords, would be refused.
    assert found["ETCD_CLIENT_CERT_AUTH"] == "false"
    assert "ETCD_TRUSTED_CA_FILE" not in found


def test_the_peer_address_check_is_on_unless_the_inventory_turns_it_off():
    assert settings()["ETCD_EXPERIMENTAL_PEER_SKIP_CLIENT_SAN_VERIFICATION"] == "false"
    off = settings({"etcd_peer_verify_client_address": False})
    assert off["ETCD_EXPERIMENTAL_PEER_SKIP_CLIENT_SAN_VERIFICATION"] == "true"


def test_the_unit_reads_the_settings_file_and_passes_no_config_file():
    role_vars = yaml.safe_load((ROLES / "etcd" / "vars" / "main.yml").read_text())
    unit = systemd_unit("etcd", role_variables("etcd", role_vars))
    assert "EnvironmentFile=/etc/etcd/etcd.env" in unit
    assert "--config-file" not in unit
