"""The Patroni cluster: one leader, one synchronous standby, one replica, routed by HAProxy."""

import uuid

import httpx
import psycopg
import pytest
import yaml

from roadie.paths import lab_group_vars_dir
from tests.support import manifest, wait_until


def cluster_members(lab):
    db = lab.group("postgres")[0]
    entry = manifest(db, "patroni")
    url = f"http://{entry['address']}:{entry['ports']['restapi']}/cluster"
    return httpx.get(url, timeout=3).json()["members"]


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
    db = lab.group("postgres")[0]
    entry = manifest(db, "patroni")
    config = httpx.get(f"http://{entry['address']}:{entry['ports']['restapi']}/config", timeout=3).json()
    assert (config["ttl"], config["loop_wait"], config["retry_timeout"]) == (
        wanted["patroni_ttl"],
        wanted["patroni_loop_wait"],
        wanted["patroni_retry_timeout"],
    )
    assert config["synchronous_mode"] is True
    assert config["postgresql"]["use_pg_rewind"] is True


def test_patroni_rest_api_refuses_unauthenticated_changes(lab, running_hosts):
    db = lab.group("postgres")[0]
    entry = manifest(db, "patroni")
    response = httpx.patch(f"http://{entry['address']}:{entry['ports']['restapi']}/config", json={"ttl": 99}, timeout=3)
    assert response.status_code == 401
