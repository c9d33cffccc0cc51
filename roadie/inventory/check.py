"""Check an Ansible inventory (as loaded from YAML) against the shape roadie relies on.

Used on the lab's hand-written inventory and on every generated one, so both keep the same
groups and host variables: every host sits in exactly one AZ group that matches its
`roadie_region`/`roadie_az` and lies under its region group, addresses are unique, co-located
service groups hold the same hosts, and every host runs at least one service.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping
from typing import Any

from roadie.inventory.groups import (
    HOST_VARS,
    OPTIONAL_SERVICE_GROUPS,
    REQUIRED_GROUPS,
    SAME_HOSTS,
    SERVICE_GROUPS,
    parse_az_group,
    region_group,
)


def check_inventory(inventory: Mapping[str, Any], required_groups: Collection[str] = REQUIRED_GROUPS) -> list[str]:
    """Problems found in `inventory`, one sentence each; empty when it is sound."""
    root = inventory.get("all") if isinstance(inventory, Mapping) else None
    if not isinstance(root, Mapping):
        return ["inventory has no 'all' group"]
    groups: dict[str, Mapping[str, Any]] = {}
    parents: dict[str, str] = {}
    for name, group, parent in _walk(root, "all"):
        # A group listed again as a bare child of another group (postgres under
        # postgres_exporter) adds a parent, not a second definition: keep the full one.
        if name in groups and not group:
            continue
        groups[name] = group
        parents[name] = parent
    problems = [f"group {name} is missing" for name in required_groups if name not in groups]
    members = {name: set((group.get("hosts") or {}).keys()) for name, group in groups.items()}
    host_vars = _host_vars(groups)
    problems += _check_host_vars(host_vars)
    problems += _check_az_groups(members, parents, host_vars)
    problems += _check_addresses(host_vars)
    for first, second in SAME_HOSTS:
        if first in members and second in members and members[first] != members[second]:
            problems.append(f"groups {first} and {second} must hold the same hosts")
    in_service = set().union(*(members.get(name, set()) for name in (*SERVICE_GROUPS, *OPTIONAL_SERVICE_GROUPS)))
    problems += [f"host {host} is in no service group" for host in sorted(set(host_vars) - in_service)]
    return problems


def _walk(group: Mapping[str, Any], name: str) -> Iterator[tuple[str, Mapping[str, Any], str]]:
    for child_name, child_or_none in (group.get("children") or {}).items():
        child = child_or_none or {}
        yield child_name, child, name
        yield from _walk(child, child_name)


def _host_vars(groups: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    # A host's variables may be given where it is listed first (its AZ group) and the host
    # repeated bare elsewhere (service groups), as the lab does: merge all occurrences.
    merged: dict[str, dict[str, Any]] = defaultdict(dict)
    for group in groups.values():
        for host, variables in (group.get("hosts") or {}).items():
            merged[host].update(variables or {})
    return dict(merged)


def _check_host_vars(host_vars: Mapping[str, Mapping[str, Any]]) -> list[str]:
    problems = []
    for host, variables in sorted(host_vars.items()):
        missing = [name for name in HOST_VARS if name not in variables]
        if missing:
            problems.append(f"host {host} lacks {', '.join(missing)}")
            continue
        for name in ("roadie_region", "roadie_az"):
            if isinstance(variables[name], bool) or not isinstance(variables[name], int):
                problems.append(f"host {host}: {name} must be an integer, got {variables[name]!r}")
        try:
            ipaddress.ip_address(str(variables["roadie_address"]))
        except ValueError:
            problems.append(f"host {host}: roadie_address {variables['roadie_address']!r} is not an IP address")
    return problems


def _check_az_groups(
    members: Mapping[str, set[str]], parents: Mapping[str, str], host_vars: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    problems = []
    az_groups_of: dict[str, list[str]] = defaultdict(list)
    for name, hosts in members.items():
        location = parse_az_group(name)
        if location is None:
            continue
        region, az = location
        if parents[name] != region_group(region):
            problems.append(f"AZ group {name} is not under {region_group(region)}")
        for host in hosts:
            az_groups_of[host].append(name)
            variables = host_vars.get(host, {})
            if (variables.get("roadie_region"), variables.get("roadie_az")) != (region, az):
                problems.append(
                    f"host {host} is in {name} but has roadie_region={variables.get('roadie_region')} "
                    f"roadie_az={variables.get('roadie_az')}"
                )
    for host in sorted(host_vars):
        found = az_groups_of.get(host, [])
        if len(found) != 1:
            problems.append(f"host {host} is in {len(found)} AZ groups ({', '.join(sorted(found)) or 'none'})")
    return problems


def _check_addresses(host_vars: Mapping[str, Mapping[str, Any]]) -> list[str]:
    owners: dict[str, list[str]] = defaultdict(list)
    for host, variables in host_vars.items():
        if "roadie_address" in variables:
            owners[str(variables["roadie_address"])].append(host)
    return [
        f"address {address} is used by {', '.join(sorted(hosts))}"
        for address, hosts in sorted(owners.items())
        if len(hosts) > 1
    ]
