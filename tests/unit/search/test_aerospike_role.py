"""The production Aerospike role, rendered offline with its defaults and a sample inventory:
hybrid storage on raw NVMe, replication factor 2, mesh heartbeat, racks by AZ, the exporter.
(The lab cannot run Aerospike; roadie/lab/standins.py says why, and the lab has no such hosts.)"""

import re
import tomllib

import yaml

from roadie.lab.inventory import load_lab
from roadie.lab.standins import NOT_RUNNABLE
from roadie.paths import ansible_dir
from tests.unit.observability.role_render import render_template, role_variables, systemd_unit, templar, trusted

NODES = {"as-1": ("10.1.1.40", 1), "as-2": ("10.1.2.40", 2), "as-3": ("10.1.3.40", 3)}


def variables(host: str = "as-2", nodes: dict | None = None, **overrides) -> dict:
    nodes = nodes or NODES
    address, az = nodes[host]
    hostvars = {name: {"roadie_address": a, "roadie_az": z, "roadie_region": 1} for name, (a, z) in nodes.items()}
    return role_variables(
        "aerospike",
        {
            "inventory_hostname": host,
            "roadie_address": address,
            "roadie_az": az,
            "groups": {"all": list(nodes), "aerospike": list(nodes)},
            "hostvars": hostvars,
            "aerospike_devices": ["/dev/nvme1n1", "/dev/nvme2n1"],
            **overrides,
        },
    )


def parse_aerospike_conf(text: str) -> dict:
    """A small parser of Aerospike's configuration format: nested ``name [arg] { key value }``
    stanzas. Fails on unbalanced braces or a line that is neither a stanza nor ``key value``."""
    root: dict = {}
    stack = [root]
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.endswith("{"):
            name = " ".join(line[:-1].split())
            child: dict = {}
            stack[-1].setdefault(name, child)
            stack.append(child)
        elif line == "}":
            assert len(stack) > 1, f"line {number}: unbalanced closing brace"
            stack.pop()
        else:
            key, _, value = line.partition(" ")
            assert re.fullmatch(r"[a-z][a-z0-9-]*", key) and value.strip(), f"line {number}: not 'key value': {raw!r}"
            stack[-1].setdefault(key, []).append(value.strip())
    assert len(stack) == 1, "unbalanced braces: a stanza is never closed"
    return root


def conf(**overrides) -> dict:
    return parse_aerospike_conf(render_template("aerospike", "aerospike.conf.j2", variables(**overrides)))


def test_namespace_keeps_the_index_in_memory_and_the_data_on_raw_nvme():
    namespace = conf()["namespace offers"]
    device = namespace["storage-engine device"]
    assert device["device"] == ["/dev/nvme1n1", "/dev/nvme2n1"], "whole raw devices, no files"
    assert "file" not in device and "storage-engine memory" not in namespace
    assert namespace["indexes-memory-budget"] == ["16G"], "the primary index lives in RAM"
    assert int(namespace["nsup-period"][0]) > 0, "per-record TTLs need the expiry sweep"
    assert device["stop-writes-used-pct"] and device["evict-used-pct"]


def test_two_copies_in_different_availability_zones():
    namespace = conf(host="as-3")["namespace offers"]
    assert namespace["replication-factor"] == ["2"]
    assert namespace["rack-id"] == ["3"], "the rack is the node's AZ"


def test_mesh_heartbeat_seeds_every_node_and_binds_the_host_address_only():
    network = conf()["network"]
    heartbeat = network["heartbeat"]
    assert heartbeat["mode"] == ["mesh"]
    assert heartbeat["mesh-seed-address-port"] == [f"{a} 3002" for a, _ in NODES.values()]
    for stanza in ("service", "heartbeat", "fabric"):
        assert network[stanza]["address"] == ["10.1.2.40"], stanza
    assert "0.0.0.0" not in render_template("aerospike", "aerospike.conf.j2", variables())


def test_exporter_config_is_valid_toml_on_the_node_address():
    text = render_template("aerospike", "ape.toml.j2", variables())
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    config = tomllib.loads(body)
    assert config["Agent"]["bind"] == "10.1.2.40:9145"
    assert config["Aerospike"]["db_host"] == "10.1.2.40" and config["Aerospike"]["db_port"] == 3000


def test_systemd_unit_runs_asd_in_the_foreground():
    unit = systemd_unit("aerospike", variables())
    assert "ExecStart=/usr/bin/asd --foreground --config-file /etc/aerospike/aerospike.conf" in unit


def assertions(variables_: dict) -> list[bool]:
    tasks = yaml.safe_load((ansible_dir() / "roles" / "aerospike" / "tasks" / "validate.yml").read_text())
    results = []
    for task in tasks:
        that = task.get("ansible.builtin.assert", {}).get("that")
        if that is None or "item" in str(that):
            continue
        for expression in that if isinstance(that, list) else [that]:
            results.append(bool(templar(variables_).evaluate_conditional(trusted(expression.strip()))))
    return results


def test_validation_accepts_three_azs_and_refuses_a_single_az_cluster():
    assert all(assertions(variables()))
    one_az = {"as-1": ("10.1.1.40", 1), "as-2": ("10.1.1.41", 1)}
    assert not all(assertions(variables("as-1", one_az))), "RF 2 needs two racks (AZs)"
    assert not all(assertions(variables(aerospike_devices=[]))), "data needs raw devices"


def test_lab_skips_aerospike_and_says_why():
    assert not load_lab().group("aerospike"), "the lab has no Aerospike hosts"
    reason = next(s for s in NOT_RUNNABLE if s.component == "Aerospike")
    assert "Redis" in reason.stand_in and reason.why
    plays = yaml.safe_load((ansible_dir() / "playbooks" / "search.yml").read_text())
    assert any(p["hosts"] == "aerospike" and p["roles"] == ["aerospike"] for p in plays)
