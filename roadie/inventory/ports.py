"""The port table (ansible/playbooks/group_vars/all/ports.yml): every port a service listens
on, declared once for every inventory. The roles' defaults read it as `roadie_ports`; the Pulumi
program (security groups, NLB listeners) and roadie read it here.

Python that connects to a running service reads the service registry (roadie.services.registry),
which the roles write from this table; this module is for what is decided before any host runs:
cloud firewall rules, listeners, and fallbacks when a service is not deployed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import yaml

from roadie.errors import RoadieError
from roadie.paths import shared_group_vars_dir

VARIABLE = "roadie_ports"
# How a role's default reads the table: "{{ roadie_ports.<service>.<port> }}".
REFERENCE = re.compile(r"^\{\{\s*roadie_ports\.(\w+)\.(\w+)\s*\}\}$")


def table_file() -> Path:
    return shared_group_vars_dir() / "all" / "ports.yml"


class PortTableError(RoadieError):
    """The table is malformed, or names no such service or port."""


def parse(text: str, source: str) -> dict[str, dict[str, int]]:
    """The table in a ports.yml's text; a PortTableError names what is wrong."""
    data = yaml.safe_load(text) or {}
    table = data.get(VARIABLE) if isinstance(data, dict) else None
    if not isinstance(table, dict):
        raise PortTableError(f"{source}: no '{VARIABLE}' mapping")
    parsed: dict[str, dict[str, int]] = {}
    for service, ports in table.items():
        if not isinstance(ports, dict) or not ports:
            raise PortTableError(f"{source}: {service} must map port names to numbers")
        for name, number in ports.items():
            if isinstance(number, bool) or not isinstance(number, int) or not 0 < number <= 65535:
                raise PortTableError(f"{source}: {service}.{name} is {number!r}, not a port number")
        parsed[str(service)] = {str(name): int(number) for name, number in ports.items()}
    return parsed


@cache
def table() -> Mapping[str, Mapping[str, int]]:
    path = table_file()
    return parse(path.read_text(), str(path))


def port(service: str, name: str) -> int:
    """The port `name` of `service`, as the roles open it."""
    ports = table().get(service)
    if ports is None:
        raise PortTableError(f"the port table has no service '{service}' (services: {', '.join(sorted(table()))})")
    if name not in ports:
        raise PortTableError(f"the port table's {service} has no port '{name}' (ports: {', '.join(sorted(ports))})")
    return ports[name]


def referenced(value: object) -> tuple[str, str] | None:
    """(service, port) when a role default is a reference to the table, else None."""
    match = REFERENCE.match(value) if isinstance(value, str) else None
    return (match.group(1), match.group(2)) if match else None


def ansible_variables() -> dict[str, dict[str, dict[str, int]]]:
    """`roadie_ports` as the shared group_vars give it to every host (for rendering a role's
    defaults outside a play)."""
    return {VARIABLE: {service: dict(named) for service, named in table().items()}}


def resolve(value: object) -> object:
    """A role default with a reference to the table replaced by its number (others as they are)."""
    reference = referenced(value)
    return port(*reference) if reference else value
