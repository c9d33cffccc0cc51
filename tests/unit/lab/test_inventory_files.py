"""`roadie lab up` writes the lab's stack output and generates its inventory from it with the
builder of `roadie inventory from-stack`, beside links to the lab's group_vars and host_vars."""

import json
from pathlib import Path

import pytest
import yaml

from roadie.inventory import check_inventory, load_stack_output
from roadie.lab import inventory, lifecycle
from roadie.paths import ansible_dir


def test_the_lab_inventory_is_generated_from_its_stack_output(tmp_path, monkeypatch):
    monkeypatch.setenv("ROADIE_LAB_ROOT", str(tmp_path))
    inventory.load_lab.cache_clear()
    try:
        lab = inventory.load_lab("core")
        wheel = tmp_path / "dist" / "roadie-0.1.0-py3-none-any.whl"
        lifecycle.write_inventory_files(lab, wheel)
    finally:
        inventory.load_lab.cache_clear()
    stack = load_stack_output(tmp_path / "stack-output.json")
    assert stack.environment == "lab" and len(stack.hosts) == len(lab.hosts)
    hosts_yml = yaml.safe_load((tmp_path / "inventory" / "hosts.yml").read_text())
    assert check_inventory(hosts_yml) == []
    variables = hosts_yml["all"]["vars"]
    # Literal values: every reader of the inventory (Ansible, testinfra) gets the same.
    assert variables["ansible_ssh_private_key_file"] == str(tmp_path / "ssh" / "id_ed25519")
    assert f"UserKnownHostsFile={tmp_path}/ssh/known_hosts" in variables["ansible_ssh_common_args"]
    assert "StrictHostKeyChecking=yes" in variables["ansible_ssh_common_args"]
    assert variables["roadie_wheel"] == str(wheel)
    assert "{{" not in json.dumps(variables)
    for linked in ("group_vars", "host_vars"):
        assert (tmp_path / "inventory" / linked / ".." / linked).resolve().is_dir()
        assert (tmp_path / "inventory" / linked).is_symlink()


def _group_vars(directory: Path) -> dict[str, dict]:
    """group -> variables of a group_vars directory (Vault-encrypted files left out)."""
    found = {}
    for path in sorted(directory.glob("*.yml")):
        if not path.read_text().startswith("$ANSIBLE_VAULT"):
            found[path.stem] = yaml.safe_load(path.read_text()) or {}
    return found


@pytest.mark.parametrize("name", ["lab", "aws"])
def test_no_two_groups_of_an_inventory_set_a_variable_to_the_same_value(name):
    """What two groups share belongs to their parent group (postgres_servers, pg_lbs, pgbackrest,
    ...), set once: a copy in each would drift."""
    where: dict[tuple[str, str], list[str]] = {}
    for directory in (ansible_dir() / "playbooks" / "group_vars", ansible_dir() / "inventories" / name / "group_vars"):
        for group, variables in _group_vars(directory).items():
            for variable, value in variables.items():
                where.setdefault((variable, json.dumps(value, sort_keys=True)), []).append(group)
    assert {variable: groups for (variable, _), groups in where.items() if len(groups) > 1} == {}
