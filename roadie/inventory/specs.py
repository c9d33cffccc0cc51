"""Check an inventory against the roles' argument specs without running a play.

For each host, each role its plays apply (roadie.inventory.resolve.roles_by_host) gets the
options of its `meta/argument_specs.yml` rendered from what it would see on that host
(defaults, inventory and shared group_vars, vault, role vars) and validated the way Ansible
validates them at the role's start. A variable that cannot be rendered (an undefined secret or
endpoint) or a required one that nothing provides is a problem naming host, role and variable.
Roles give required secrets an empty default (their own checks refuse it at run time, naming
the variable): an option required by the specs whose value is still that empty default counts
as provided by nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from roadie.inventory.resolve import RenderError, Resolver, render_each, role_context, role_layers, roles_by_host
from roadie.paths import ansible_dir

# Required options a role reads on some of its hosts only (its validation tasks check them there):
# (role, option) -> the host pattern that needs it. pgbackrest: the repository's passphrases and
# the status exporter on the repository host, the superuser's password on the members
# (roles/pgbackrest/tasks/validate.yml).
REQUIRED_ONLY_ON: dict[tuple[str, str], str] = {
    ("pgbackrest", "pgbackrest_repo_cipher_pass"): "backup_repo",
    ("pgbackrest", "pgbackrest_exporter_db_password"): "backup_repo",
    ("pgbackrest", "pgbackrest_pg_superuser_password"): "all:!backup_repo",
    ("pgbackrest", "pgbackrest_repo_s3_bucket"): "backup_repo",
    ("pgbackrest", "pgbackrest_archive_repo_s3_bucket"): "backup_repo",
}

# Options a role needs only in one mode (its validation tasks check them then):
# (role, option) -> (the option that sets the mode, the value that needs it), on the hosts of
# REQUIRED_ONLY_ON. pgbackrest: an s3 repository needs its bucket (on the repository host).
REQUIRED_WHEN: dict[tuple[str, str], tuple[str, Any]] = {
    ("pgbackrest", "pgbackrest_repo_s3_bucket"): ("pgbackrest_repo_type", "s3"),
    ("pgbackrest", "pgbackrest_archive_repo_s3_bucket"): ("pgbackrest_archive_repo_type", "s3"),
}


def role_options(role: str) -> dict[str, Any]:
    """The options of `role`'s main entry point (empty when it has no argument specs)."""
    path = ansible_dir() / "roles" / role / "meta" / "argument_specs.yml"
    if not path.exists():
        return {}
    specs = yaml.safe_load(path.read_text()) or {}
    return dict(specs.get("argument_specs", {}).get("main", {}).get("options") or {})


def play_context(role: str, play_hosts: list[str]) -> dict[str, Any]:
    """What a play gives a role beyond the inventory, which some defaults read."""
    return {
        "role_path": str(ansible_dir() / "roles" / role),
        "role_name": role,
        "ansible_play_hosts": play_hosts,
        "ansible_play_hosts_all": play_hosts,
        "ansible_play_batch": play_hosts,
        "playbook_dir": str(ansible_dir() / "playbooks"),
    }


def host_role_problems(resolver: Resolver, host: str, role: str, play_hosts: list[str]) -> list[str]:
    options = role_options(role)
    context = {**role_context(resolver, host, role), **play_context(role, play_hosts)}
    rendered = render_each(resolver, [name for name in options if name in context], context)
    problems = [f"{host} {role}: {value.message}" for value in rendered.values() if isinstance(value, RenderError)]
    values = {name: value for name, value in rendered.items() if not isinstance(value, RenderError)}
    # Ansible's own check at a role's start (validate_argument_spec): types, choices, required.
    result = ArgumentSpecValidator(_unrendered(options, set(rendered) - set(values))).validate(values)
    problems += [f"{host} {role}: {message}" for message in result.error_messages]
    problems += [
        f"{host} {role}: required {name} is given by no inventory, shared group_vars or vault (only its empty default)"
        for name in _left_empty(resolver, host, role, options)
    ]
    return problems + _missing_for_mode(resolver, host, role, values)


def _missing_for_mode(resolver: Resolver, host: str, role: str, values: Mapping[str, Any]) -> list[str]:
    """REQUIRED_WHEN options left empty although their mode is on for this host."""
    return [
        f"{host} {role}: {option} is empty although {switch} is {wanted!r}"
        for (owner, option), (switch, wanted) in REQUIRED_WHEN.items()
        if owner == role
        and values.get(switch) == wanted
        and values.get(option) in ("", None)
        and host in resolver.hosts(REQUIRED_ONLY_ON.get((role, option), "all"))
    ]


def _left_empty(resolver: Resolver, host: str, role: str, options: Mapping[str, Any]) -> list[str]:
    """Required options that nothing above the role's defaults sets, whose default is empty."""
    defaults, role_vars = role_layers(resolver, role)
    given = {*resolver.host_vars(host), *role_vars}
    return [
        name
        for name, spec in options.items()
        if spec.get("required")
        and name not in given
        and name in defaults
        and defaults[name] in ("", None, [], {})
        and host in resolver.hosts(REQUIRED_ONLY_ON.get((role, name), "all"))
    ]


def _unrendered(options: Mapping[str, Any], failed: set[str]) -> dict[str, Any]:
    """`options`, with those already reported as unrenderable no longer required."""
    return {name: {**spec, "required": False} if name in failed else spec for name, spec in options.items()}


def inventory_problems(resolver: Resolver, playbook: Path) -> list[str]:
    """Every argument-spec problem of every host's roles under `playbook`."""
    problems = []
    by_host = roles_by_host(resolver, playbook)
    for host, roles in by_host.items():
        for role in roles:
            play_hosts = [name for name, its_roles in by_host.items() if role in its_roles]
            problems += host_role_problems(resolver, host, role, play_hosts)
    return problems
