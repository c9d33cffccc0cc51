"""The patroni role's archive and standby-cluster settings: archive_mode cluster-wide,
archive_command per member, standby_cluster only in the bootstrap configuration."""

import yaml

from tests.unit.backup.render import render, variables

HOSTVARS = {"db-1": {"roadie_address": "10.1.1.11"}, "db-dr": {"roadie_address": "10.2.1.11"}}
GROUPS = {"etcd": ["db-1"], "etcd_dr": ["db-dr"], "postgres": ["db-1"]}
PASSWORDS = {f"patroni_{name}_password": "x" * 20 for name in ("superuser", "replication", "rewind", "restapi", "etcd")}
COMMAND = "pgbackrest --config=/etc/pgbackrest/pgbackrest.conf --stanza=roadie archive-push %p"


def patroni_yml(host, **overrides):
    values = variables(
        "patroni", host, HOSTVARS, GROUPS, patroni_client_networks=["10.0.0.0/8"], **PASSWORDS, **overrides
    )
    return yaml.safe_load(render("patroni", "patroni.yml.j2", values))


def test_archiving_is_off_unless_asked():
    config = patroni_yml("db-1")
    assert config["bootstrap"]["dcs"]["postgresql"]["parameters"]["archive_mode"] == "off"
    assert "archive_command" not in config["postgresql"]["parameters"]
    assert "standby_cluster" not in config["bootstrap"]["dcs"]


def test_archive_mode_is_cluster_wide_and_the_command_is_per_member():
    config = patroni_yml("db-1", patroni_archive_mode=True, patroni_archive_command=COMMAND)
    parameters = config["bootstrap"]["dcs"]["postgresql"]["parameters"]
    assert parameters["archive_mode"] == "on"
    assert parameters["archive_timeout"] == "60s"
    assert "archive_command" not in parameters
    assert config["postgresql"]["parameters"]["archive_command"] == COMMAND


def test_standby_cluster_is_bootstrap_only():
    standby = {"host": "10.1.0.52", "port": 5000, "create_replica_methods": ["basebackup"]}
    config = patroni_yml("db-dr", patroni_standby_cluster=standby, patroni_etcd_group="etcd_dr")
    assert config["bootstrap"]["dcs"]["standby_cluster"] == standby
    assert config["etcd3"]["hosts"] == ["10.2.1.11:2379"]
