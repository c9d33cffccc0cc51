"""Read `pulumi stack output --json` of a roadie stack into typed host records.

The stack's `hosts` output (infra/roadie_infra/outputs.py) lists every host with its name,
private address, AZ index, region index and roles; `endpoints` gives, per region, the
PostgreSQL endpoint and the app's entry point; the other outputs used here are
`environment`, `vpc_cidr` and `ansible_user`.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roadie.inventory.groups import OPTIONAL_SERVICE_GROUPS, SERVICE_GROUPS


class InventoryError(ValueError):
    """A stack output cannot be turned into an inventory; the message says which field."""


@dataclass(frozen=True)
class HostRecord:
    name: str
    address: str
    region: int
    az: int
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Endpoints:
    """Where a region's clients reach PostgreSQL (read-write and read-only ports) and the app."""

    region: int
    postgres: str
    app: str


@dataclass(frozen=True)
class BackupRepository:
    """The S3 bucket of pgBackRest's repositories: backups under one prefix, yearly archives
    under the other (the prefixes the bucket's lifecycle rules are written for)."""

    bucket: str
    region: str
    repo_prefix: str
    archive_prefix: str


@dataclass(frozen=True)
class StackOutput:
    environment: str
    vpc_cidr: str
    ansible_user: str
    hosts: tuple[HostRecord, ...]
    endpoints: tuple[Endpoints, ...]
    backup_repository: BackupRepository | None = None


def load_stack_output(path: Path) -> StackOutput:
    """Parse the JSON file written by `pulumi stack output --json > FILE`."""
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise InventoryError(f"not JSON: {err}") from err
    return parse_stack_output(data)


def parse_stack_output(data: Any) -> StackOutput:
    """Validate the outputs of one stack."""
    if not isinstance(data, Mapping):
        raise InventoryError("expected a JSON object of stack outputs")
    hosts = data.get("hosts")
    if not isinstance(hosts, list):
        raise InventoryError("output 'hosts' is missing or not a list (is this a roadie stack?)")
    vpc_cidr = _text(data, "vpc_cidr", "outputs")
    try:
        ipaddress.IPv4Network(vpc_cidr)
    except ValueError as err:
        raise InventoryError(f"output 'vpc_cidr': {err}") from err
    return StackOutput(
        environment=_text(data, "environment", "outputs"),
        vpc_cidr=vpc_cidr,
        ansible_user=_text(data, "ansible_user", "outputs"),
        hosts=tuple(_host(entry, index) for index, entry in enumerate(hosts)),
        endpoints=_endpoints(data.get("endpoints")),
        backup_repository=_backup_repository(data.get("backup_repository")),
    )


def _backup_repository(entry: Any) -> BackupRepository | None:
    """The optional `backup_repository` output (stacks that make backups; dr has none)."""
    if entry is None:
        return None
    where = "output 'backup_repository'"
    if not isinstance(entry, Mapping):
        raise InventoryError(f"{where} is not an object")
    return BackupRepository(
        bucket=_text(entry, "bucket", where),
        region=_text(entry, "region", where),
        repo_prefix=_text(entry, "repo_prefix", where),
        archive_prefix=_text(entry, "archive_prefix", where),
    )


def _endpoints(entries: Any) -> tuple[Endpoints, ...]:
    if not isinstance(entries, list) or not entries:
        raise InventoryError("output 'endpoints' is missing or not a non-empty list")
    found = []
    for index, entry in enumerate(entries):
        where = f"endpoints[{index}]"
        if not isinstance(entry, Mapping):
            raise InventoryError(f"{where} is not an object")
        found.append(
            Endpoints(
                region=_int(entry, "region", where),
                postgres=_text(entry, "postgres", where),
                app=_text(entry, "app", where),
            )
        )
    return tuple(found)


def _text(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise InventoryError(f"{where} '{key}' is missing or not a string")
    return value


def _int(data: Mapping[str, Any], key: str, where: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InventoryError(f"{where} '{key}' is missing or not an integer")
    return value


def _host(entry: Any, index: int) -> HostRecord:
    where = f"hosts[{index}]"
    if not isinstance(entry, Mapping):
        raise InventoryError(f"{where} is not an object")
    where = f"hosts[{index}] ({entry.get('name', '?')})"
    address = _text(entry, "address", where)
    try:
        ipaddress.IPv4Address(address)
    except ValueError as err:
        raise InventoryError(f"{where} 'address': {err}") from err
    roles = entry.get("roles")
    if not isinstance(roles, list) or not roles or not all(isinstance(role, str) for role in roles):
        raise InventoryError(f"{where} 'roles' must be a non-empty list of group names")
    unknown = sorted(set(roles) - set(SERVICE_GROUPS) - set(OPTIONAL_SERVICE_GROUPS))
    if unknown:
        raise InventoryError(f"{where} has unknown roles {unknown}")
    return HostRecord(
        name=_text(entry, "name", where),
        address=address,
        region=_int(entry, "region", where),
        az=_int(entry, "az", where),
        roles=tuple(roles),
    )
