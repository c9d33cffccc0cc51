"""Resolve what each host's roles see: inventory variables, playbook-adjacent group_vars, role
defaults and vars, rendered by Ansible's own loader, inventory and templar.

Used to check an inventory without running a play (tests/unit/test_inventory_path.py) and to
compare two inventories' rendered variables (scripts/compare-lab-vars.py). Which roles a host
runs comes from the plays of a playbook (following `import_playbook`): their `roles` and their
`include_role` tasks with a literal name.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from ansible.errors import AnsibleError
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.parsing.vault import VaultSecret
from ansible.plugins.loader import init_plugin_loader
from ansible.template import Templar
from ansible.vars.hostvars import HostVars
from ansible.vars.manager import VariableManager

from roadie.paths import ansible_dir

# Variables Ansible sets itself (not an inventory's): left out of a host's inventory variables.
MAGIC_VARIABLES = frozenset(
    {
        "ansible_check_mode",
        "ansible_config_file",
        "ansible_diff_mode",
        "ansible_forks",
        "ansible_inventory_sources",
        "ansible_playbook_python",
        "ansible_run_tags",
        "ansible_skip_tags",
        "ansible_verbosity",
        "ansible_version",
        "group_names",
        "groups",
        "hostvars",
        "inventory_dir",
        "inventory_file",
        "inventory_hostname",
        "inventory_hostname_short",
        "omit",
        "playbook_dir",
    }
)


@dataclass(frozen=True)
class Resolver:
    """An inventory loaded as `ansible-playbook -i SOURCES PLAYBOOK_DIR/...` would load it."""

    loader: DataLoader
    inventory: InventoryManager
    variables: VariableManager

    def hosts(self, pattern: str = "all") -> list[str]:
        return [host.name for host in self.inventory.get_hosts(pattern)]

    def host_vars(self, host: str) -> dict[str, Any]:
        """Every variable of `host` before rendering, magic variables included."""
        return self.variables.get_vars(host=self.inventory.get_host(host), include_hostvars=True)

    def inventory_vars(self, host: str) -> dict[str, Any]:
        """The variables the inventory and the group_vars give `host` (raw, not rendered)."""
        return {k: v for k, v in self.host_vars(host).items() if k not in MAGIC_VARIABLES}

    def render(self, value: Any, variables: Mapping[str, Any]) -> Any:
        return Templar(loader=self.loader, variables=dict(variables)).template(value)


def open_inventory(sources: Sequence[Path], playbook_dir: Path, vault_password: str | None = None) -> Resolver:
    _load_plugins()
    loader = DataLoader()
    # The playbook's directory: its group_vars load for every inventory, as under ansible-playbook.
    loader.set_basedir(str(playbook_dir))
    if vault_password is not None:
        loader.set_vault_secrets([("default", VaultSecret(vault_password.encode()))])
    inventory = InventoryManager(loader=loader, sources=[str(source) for source in sources])
    variables = VariableManager(loader=loader, inventory=inventory)
    # `hostvars` (other hosts' variables, as `hostvars[groups['rabbitmq'][0]]` reads them).
    variables._hostvars = HostVars(inventory=inventory, variable_manager=variables, loader=loader)
    return Resolver(loader, inventory, variables)


@cache
def _load_plugins() -> None:
    """Lookups and filters (ansible.builtin.file, from_yaml) load as under ansible-playbook (once)."""
    init_plugin_loader()


def plays(playbook: Path) -> Iterator[tuple[str, tuple[str, ...]]]:
    """(hosts pattern, role names) of every play of `playbook`, imported playbooks included."""
    for play in yaml.safe_load(playbook.read_text()) or []:
        if "ansible.builtin.import_playbook" in play:
            yield from plays(playbook.parent / play["ansible.builtin.import_playbook"])
            continue
        roles = [role if isinstance(role, str) else role["role"] for role in play.get("roles") or []]
        roles += [name for task in play.get("tasks") or [] if (name := _included_role(task))]
        if roles:
            yield str(play["hosts"]), tuple(roles)


def _included_role(task: Mapping[str, Any]) -> str | None:
    include = task.get("ansible.builtin.include_role") or task.get("ansible.builtin.import_role")
    return str(include["name"]) if include else None


def roles_by_host(resolver: Resolver, playbook: Path) -> dict[str, list[str]]:
    """The roles each host runs under `playbook`, in play order, each once."""
    found: dict[str, list[str]] = {host: [] for host in resolver.hosts()}
    for pattern, roles in plays(playbook):
        for host in resolver.hosts(pattern):
            found[host] += [role for role in roles if role not in found[host]]
    return found


def role_layers(resolver: Resolver, role: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(defaults, vars) of `role`, loaded by Ansible's loader so that their templates are trusted."""
    root = ansible_dir() / "roles" / role
    return _load(resolver, root / "defaults" / "main.yml"), _load(resolver, root / "vars" / "main.yml")


def _load(resolver: Resolver, path: Path) -> dict[str, Any]:
    return dict(resolver.loader.load_from_file(str(path), trusted_as_template=True) or {}) if path.exists() else {}


def role_context(resolver: Resolver, host: str, role: str) -> dict[str, Any]:
    """What `role`'s templates see on `host`: defaults < inventory < role vars (Ansible's order)."""
    defaults, role_vars = role_layers(resolver, role)
    return {**defaults, **resolver.host_vars(host), **role_vars}


def render_each(resolver: Resolver, names: Sequence[str], context: Mapping[str, Any]) -> dict[str, Any]:
    """Each of `names` rendered in `context`; a value that cannot be rendered becomes its error."""
    rendered: dict[str, Any] = {}
    for name in names:
        try:
            rendered[name] = resolver.render(context[name], context)
        except AnsibleError as err:
            rendered[name] = RenderError(f"{name}: {err.message}")
    return rendered


@dataclass(frozen=True)
class RenderError:
    """Why a variable could not be rendered (kept as a value so that a comparison shows it)."""

    message: str
