"""The Patroni cluster: one leader, one synchronous standby, one replica, routed by HAProxy."""

import ssl
import uuid

import httpx
import psycopg
import pytest
import yaml

from roadie import tls
from roadie.paths import lab_group_vars_dir
from roadie.services import internal_tls, registry
from tests.support import manifest, wait_until


def rest_url(lab, path=""):
    """The first member's REST API (HTTPS, as its registry entry says)."""
    return registry.service(lab.group("postgres")[0], "patroni").url("restapi", path)


def rest_get(lab, path):
    return httpx.get(rest_url(lab, path), timeout=3, verify=internal_tls.http_verify())


def cluster_members(lab):
    return rest_get(lab, "/cluster").json()["members"]


def roles_ready(lab):
    members = cluster_members(lab)
    roles = sorted(m["role"] for m in members)
    streaming = all(m["state"] in ("running", "streaming") for m in members)
    return roles if streaming and roles == ["leader", "replica", "sync_standby"] else None


def test_exactly_one_leader_one_sync_standby_one_replica(lab, running_hosts):
    roles = wait_until(lambda: roles_ready(lab), 60, "leader + sync standby + replica")
    assert roles == ["leader", "replica", "sync_standby"]


def pg_lb(lab):
    return manifest(lab.group("pg_lb")[0], "haproxy_pg")


def connect(lab, secrets, port_name, **kwargs):
    entry = pg_lb(lab)
    return psycopg.connect(
        host=entry["address"],
        port=entry["ports"][port_name],
        user="app",
        dbname="app",
        password=secrets["postgres_app"],
        connect_timeout=5,
        **kwargs,
    )


def test_write_through_primary_port_is_read_back_through_replica_port(lab, lab_secrets, running_hosts):
    marker = str(uuid.uuid4())
    with connect(lab, lab_secrets, "primary", autocommit=True) as conn:
        assert conn.execute("select pg_is_in_recovery()").fetchone()[0] is False
        conn.execute("create table if not exists lab_check (id text primary key, at timestamptz default now())")
        conn.execute("insert into lab_check (id) values (%s)", (marker,))

    def replica_sees_it():
        with connect(lab, lab_secrets, "replicas") as conn:
            in_recovery = conn.execute("select pg_is_in_recovery()").fetchone()[0]
            found = conn.execute("select count(*) from lab_check where id = %s", (marker,)).fetchone()[0]
            return in_recovery and found == 1

    assert wait_until(replica_sees_it, 30, "the row on a replica")


def test_replica_port_refuses_writes(lab, lab_secrets, running_hosts):
    with (
        connect(lab, lab_secrets, "replicas", autocommit=True) as conn,
        pytest.raises(psycopg.errors.ReadOnlySqlTransaction),
    ):
        conn.execute("create table should_not_exist (id int)")


def test_cluster_settings_are_the_ones_the_role_promises(lab, lab_secrets, running_hosts):
    with connect(lab, lab_secrets, "primary") as conn:
        settings = dict(
            conn.execute(
                "select name, setting from pg_settings where name in "
                "('data_checksums', 'password_encryption', 'synchronous_standby_names', 'wal_log_hints')"
            ).fetchall()
        )
    assert settings["data_checksums"] == "on"
    assert settings["password_encryption"] == "scram-sha-256"
    assert settings["wal_log_hints"] == "on"
    assert settings["synchronous_standby_names"], "synchronous_mode must name a standby"


def test_wrong_password_is_refused(lab, running_hosts):
    entry = pg_lb(lab)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(
            host=entry["address"],
            port=entry["ports"]["primary"],
            user="app",
            dbname="app",
            password="not-the-password",
            connect_timeout=5,
        )


def test_patroni_dynamic_config_matches_the_lab_inventory(lab, running_hosts):
    # Region 1's values: both regions' shared timing (postgres_servers.yml, the parent group),
    # then region 1's own (postgres.yml), as Ansible's group precedence merges them.
    wanted = {}
    for group in ("postgres_servers", "postgres"):
        wanted |= yaml.safe_load((lab_group_vars_dir() / f"{group}.yml").read_text()) or {}
    config = rest_get(lab, "/config").json()
    assert (config["ttl"], config["loop_wait"], config["retry_timeout"]) == (
        wanted["patroni_ttl"],
        wanted["patroni_loop_wait"],
        wanted["patroni_retry_timeout"],
    )
    assert config["synchronous_mode"] is True
    assert config["postgresql"]["use_pg_rewind"] is True


def test_patroni_rest_api_refuses_unauthenticated_changes(lab, running_hosts):
    """With the operator's client certificate but no password: 401."""
    url = rest_url(lab, "/config")
    response = httpx.patch(url, json={"ttl": 99}, timeout=3, verify=internal_tls.http_client())
    assert response.status_code == 401


def test_patroni_rest_api_refuses_a_change_without_a_client_certificate(lab, lab_secrets, running_hosts):
    """The password alone does not make an unsafe call: the client certificate is required too."""
    url = rest_url(lab, "/config")
    auth = ("patroni", lab_secrets["patroni_restapi"])
    response = httpx.patch(url, json={"ttl": 99}, auth=auth, timeout=3, verify=internal_tls.http_verify())
    assert response.status_code == 403
    # Both: accepted (the current ttl again, so nothing changes).
    same = {"ttl": rest_get(lab, "/config").json()["ttl"]}
    accepted = httpx.patch(url, json=same, auth=auth, timeout=3, verify=internal_tls.http_client())
    assert accepted.status_code == 200, accepted.text


def test_patroni_rest_api_serves_only_verified_https(lab, running_hosts, tmp_path):
    plain = rest_url(lab, "/health").replace("https://", "http://")
    with pytest.raises(httpx.HTTPError):
        httpx.get(plain, timeout=3)
    other = tls.TlsFiles(tmp_path / "other-ca")
    tls.ensure_ca(other, "other")
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(rest_url(lab, "/health"), timeout=3, verify=ssl.create_default_context(cafile=str(other.ca_cert)))
