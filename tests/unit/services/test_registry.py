"""The service registry reader: entries as the roles write them become frozen, typed records;
a malformed file is an error naming the host's file and what is wrong with it."""

import dataclasses
import json
from pathlib import Path

import pytest

from roadie.lab.inventory import Lab, LabHost
from roadie.lab.machines import Machine
from roadie.services import registry
from roadie.services.registry import Endpoint, RegistryError

# Entries as service_unit writes them (the role's manifest combined with the unit's record).
PATRONI = {
    "kind": "patroni",
    "address": "10.1.1.11",
    "ports": {"postgresql": 5432, "restapi": 8008},
    "config": "/etc/patroni/patroni.yml",
    "patronictl": "/opt/patroni/bin/patronictl",
    "data_dir": "/var/lib/postgresql/15/main",
    "name": "patroni",
    "unit": "patroni.service",
    "user": "postgres",
    "enabled": True,
}
ETCD = {"kind": "etcd", "address": "10.1.1.11", "ports": {"client": 2379, "peer": 2380}, "name": "etcd"}
# A helper unit that listens nowhere.
PLACEMENT = {"kind": "etcd_leader_placement", "name": "etcd-leader-placement", "user": "etcd", "enabled": True}


def lab_host(tmp_path: Path, name: str, entries: dict[str, object], groups: tuple[str, ...] = ()) -> LabHost:
    machine = Machine(name, "10.1.1.11", tmp_path / name)
    directory = machine.root / registry.REGISTRY
    directory.mkdir(parents=True)
    for file, entry in entries.items():
        (directory / file).write_text(entry if isinstance(entry, str) else json.dumps(entry))
    return LabHost(name, "10.1.1.11", 1, 1, groups, machine)


def test_an_entry_becomes_a_typed_frozen_record(tmp_path):
    host = lab_host(tmp_path, "db-1", {"patroni.json": PATRONI, "etcd.json": ETCD, "placement.json": PLACEMENT})
    patroni = registry.service(host, "patroni")
    assert (patroni.host, patroni.name, patroni.unit, patroni.user, patroni.enabled) == (
        "db-1", "patroni", "patroni.service", "postgres", True,
    )  # fmt: skip
    assert patroni.endpoint("restapi") == Endpoint("10.1.1.11", 8008)
    assert patroni.url("restapi", "/cluster") == "http://10.1.1.11:8008/cluster"
    assert str(patroni.endpoint("postgresql")) == "10.1.1.11:5432"
    assert patroni.path("config") == Path("/etc/patroni/patroni.yml")
    assert patroni.text("stanza", "roadie") == "roadie"
    assert patroni.as_json() == PATRONI
    with pytest.raises(dataclasses.FrozenInstanceError):
        patroni.address = "10.9.9.9"  # type: ignore[misc]
    with pytest.raises(TypeError):
        patroni.ports["restapi"] = 1  # type: ignore[index]
    assert [s.kind for s in registry.services(host)] == ["etcd", "patroni", "etcd_leader_placement"]
    assert registry.endpoint(host, "etcd", "client").url() == "http://10.1.1.11:2379"
    assert registry.find(host, "redis") is None


def test_ports_written_as_strings_of_digits_are_numbers(tmp_path):
    # Ansible without native types renders "{{ redis_port }}" as a string.
    entry = {"kind": "redis", "name": "redis", "address": "10.1.1.21", "ports": {"redis": "6379"}, "enabled": "false"}
    redis = registry.service(lab_host(tmp_path, "cache-1", {"redis.json": entry}), "redis")
    assert redis.ports == {"redis": 6379}
    assert redis.enabled is False


def test_a_host_without_a_registry_has_no_services(tmp_path):
    host = LabHost("off", "10.1.1.12", 1, 2, (), Machine("off", "10.1.1.12", tmp_path / "off"))
    assert registry.services(host) == ()
    with pytest.raises(RegistryError, match="off has no patroni service installed"):
        registry.service(host, "patroni")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('{"kind": "redis", ', "db-1:bad.json: not JSON"),
        ("[1, 2]", "db-1:bad.json: not a JSON object but list"),
        ('{"name": "redis", "address": "a", "ports": {}}', "db-1:bad.json: no kind"),
        ('{"kind": "", "ports": {}}', "db-1:bad.json: no name or kind"),
        ('{"kind": "redis", "name": "redis", "address": "a", "ports": [6379]}', "'ports' is not a mapping"),
        ('{"kind": "redis", "name": "redis", "ports": {"redis": 6379}}', "the redis entry has ports but no address"),
        ('{"kind": "redis", "name": "r", "address": "a", "ports": {"redis": "six"}}', "port 'redis' is 'six'"),
        ('{"kind": "redis", "name": "r", "address": "a", "ports": {"redis": 0}}', "port 'redis' is 0"),
        ('{"kind": "redis", "name": "r", "address": "a", "ports": {"redis": 70000}}', "port 'redis' is 70000"),
        ('{"kind": "redis", "name": "r", "address": "a", "ports": {"redis": true}}', "port 'redis' is True"),
        ('{"kind": "redis", "name": "r", "enabled": "maybe"}', "'enabled' is 'maybe', not true or false"),
    ],
)
def test_a_malformed_entry_is_an_error_naming_its_file(tmp_path, text, error):
    host = lab_host(tmp_path, "db-1", {"etcd.json": ETCD, "bad.json": text})
    with pytest.raises(RegistryError) as raised:
        registry.services(host)
    assert error in raised.value.message
    assert raised.value.message.startswith("db-1:bad.json: ")


def test_a_missing_port_or_detail_names_what_the_entry_has(tmp_path):
    patroni = registry.service(lab_host(tmp_path, "db-1", {"patroni.json": PATRONI}), "patroni")
    with pytest.raises(RegistryError) as port:
        patroni.endpoint("client")
    assert port.value.message == "db-1's patroni service has no 'client' port (ports: postgresql, restapi)"
    with pytest.raises(RegistryError) as detail:
        patroni.text("stanza")
    assert detail.value.message == "db-1:patroni.json: the patroni entry records no 'stanza'"


def test_a_group_is_read_in_host_order(tmp_path):
    hosts = tuple(
        lab_host(tmp_path, name, {"patroni.json": {**PATRONI, "address": address}}, ("postgres",))
        for name, address in (("db-1", "10.1.1.11"), ("db-2", "10.1.2.11"))
    )
    lab = Lab(tmp_path, "core", (*hosts, lab_host(tmp_path, "cache-1", {}, ("redis",))))
    members = registry.in_group(lab, "postgres", "patroni")
    assert [m.host for m in members] == ["db-1", "db-2"]
    assert registry.urls(members, "restapi") == ["http://10.1.1.11:8008", "http://10.1.2.11:8008"]
    assert registry.first(lab, "redis", "redis") is None
    with pytest.raises(RegistryError, match="no host of group 'redis' has a redis service installed"):
        registry.required(lab, "redis", "redis")


def test_a_port_the_role_lists_as_tls_is_reached_over_https(tmp_path):
    entry = {**PATRONI, "tls_ports": ["restapi"]}
    host = lab_host(tmp_path, "db-1", {"patroni.json": entry})
    patroni = registry.service(host, "patroni")
    assert patroni.url("restapi", "/cluster") == "https://10.1.1.11:8008/cluster"
    assert patroni.endpoint("postgresql").scheme == "http"  # PostgreSQL's TLS is in its protocol
