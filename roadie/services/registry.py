"""The service registry: what the roles installed on a host, where it listens, and its files.

Each service the `service_unit` role installs is recorded as `/etc/roadie/services.d/<unit>.json`
on its host: `name`, `unit`, `user`, `enabled`, and the role's entry (`kind`, `address`, `ports`
and the files a tool needs, e.g. Patroni's `config` and `patronictl`). This module is the one
reader of those files: records are frozen and typed, a malformed file is an error naming the
file and what is wrong with it, and every address and port the toolkit connects to comes from
here (the ports themselves are declared once, in the port table the roles read).

The registry is read from the host's disk, which the controller has mounted, so that it can be
read while the host is powered off.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from roadie.errors import RoadieError
from roadie.lab.inventory import Lab, LabHost

# Where the registry is on a host, relative to its root.
REGISTRY = "etc/roadie/services.d"
# Keys service_unit writes into every entry; everything else is the role's own detail.
_COMMON = ("name", "kind", "address", "ports", "unit", "user", "enabled")
_HIGHEST_PORT = 65535


class RegistryError(RoadieError):
    """A registry file that cannot be read, or a service that is not in the registry."""


@dataclass(frozen=True)
class Endpoint:
    """One address and port a service listens on."""

    address: str
    port: int
    # https where the service serves TLS from the internal CA (its role lists the port in
    # the entry's `tls_ports`).
    scheme: str = "http"

    def url(self, path: str = "") -> str:
        return f"{self.scheme}://{self.address}:{self.port}{path}"

    def __str__(self) -> str:
        return f"{self.address}:{self.port}"


@dataclass(frozen=True)
class Service:
    """One registry entry: a service of `host`, of a `kind` (its role's name for it)."""

    host: str
    name: str
    kind: str
    address: str
    ports: Mapping[str, int]
    unit: str = ""
    user: str = ""
    enabled: bool = True
    detail: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""  # the file it was read from, for errors

    def endpoint(self, port: str) -> Endpoint:
        """The service's address with its port named `port` (as its role names it)."""
        if port not in self.ports:
            known = ", ".join(sorted(self.ports)) or "none"
            raise RegistryError(f"{self.host}'s {self.kind} service has no '{port}' port (ports: {known})")
        scheme = "https" if port in self.detail.get("tls_ports", ()) else "http"
        return Endpoint(self.address, self.ports[port], scheme)

    def url(self, port: str, path: str = "") -> str:
        return self.endpoint(port).url(path)

    def text(self, key: str, default: str | None = None) -> str:
        """A string the role recorded beside the ports (a file, a stanza, a vhost...)."""
        value = self.detail.get(key, default)
        if value is None:
            raise RegistryError(f"{self.source or self.host}: the {self.kind} entry records no '{key}'")
        return str(value)

    def path(self, key: str, default: str | None = None) -> Path:
        return Path(self.text(key, default))

    def as_json(self) -> dict[str, Any]:
        """The entry as the role wrote it (ports as numbers)."""
        common = {"name": self.name, "kind": self.kind, "address": self.address, "ports": dict(self.ports)}
        return {**common, "unit": self.unit, "user": self.user, "enabled": self.enabled, **self.detail}


def parse(text: str, *, host: str, source: str) -> Service:
    """One registry file's text as a record; a RegistryError names `source` and the problem."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise RegistryError(f"{source}: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise RegistryError(f"{source}: not a JSON object but {type(data).__name__}")
    missing = [key for key in ("name", "kind") if not isinstance(data.get(key), str) or not data[key]]
    if missing:
        raise RegistryError(f"{source}: no {' or '.join(missing)} (a string) in the entry")
    ports = data.get("ports", {})
    if not isinstance(ports, dict):
        raise RegistryError(f"{source}: 'ports' is not a mapping of names to port numbers")
    if ports and not isinstance(data.get("address"), str):
        raise RegistryError(f"{source}: the {data['kind']} entry has ports but no address")
    return Service(
        host=host,
        name=data["name"],
        kind=data["kind"],
        address=str(data.get("address", "")),
        ports=MappingProxyType({str(name): _port(source, str(name), value) for name, value in ports.items()}),
        unit=str(data.get("unit", "")),
        user=str(data.get("user", "")),
        enabled=_enabled(source, data.get("enabled", True)),
        detail=MappingProxyType({k: v for k, v in data.items() if k not in _COMMON}),
        source=source,
    )


def _port(source: str, name: str, value: object) -> int:
    # Ansible renders ports as numbers; a string of digits is accepted as the same number.
    number = int(value) if isinstance(value, str) and value.isdigit() else value
    if isinstance(number, bool) or not isinstance(number, int) or not 0 < number <= _HIGHEST_PORT:
        raise RegistryError(f"{source}: port '{name}' is {value!r}, not a port number (1-{_HIGHEST_PORT})")
    return number


def _enabled(source: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "True", "false", "False"):
        return value in ("true", "True")
    raise RegistryError(f"{source}: 'enabled' is {value!r}, not true or false")


def read_directory(directory: Path, host: str) -> tuple[Service, ...]:
    """Every entry of a registry directory, in file-name order (none when it does not exist)."""
    if not directory.is_dir():
        return ()
    return tuple(parse(p.read_text(), host=host, source=f"{host}:{p.name}") for p in sorted(directory.glob("*.json")))


def services(host: LabHost) -> tuple[Service, ...]:
    """The services the roles installed on a lab host."""
    return read_directory(host.root / REGISTRY, host.name)


def find(host: LabHost, kind: str) -> Service | None:
    """The host's service of `kind`, or None when the host has none."""
    return next((s for s in services(host) if s.kind == kind), None)


def service(host: LabHost, kind: str) -> Service:
    """The host's service of `kind`; an error naming the host when it has none."""
    found = find(host, kind)
    if found is None:
        raise RegistryError(f"{host.name} has no {kind} service installed: is the lab up? ('roadie lab up')")
    return found


def endpoint(host: LabHost, kind: str, port: str) -> Endpoint:
    """Where the host's service of `kind` listens on its port named `port`."""
    return service(host, kind).endpoint(port)


def in_group(lab: Lab, group: str, kind: str) -> list[Service]:
    """The services of `kind` on the hosts of an inventory group, in host order."""
    return [s for host in lab.group(group) if (s := find(host, kind)) is not None]


def first(lab: Lab, group: str, kind: str) -> Service | None:
    """The first service of `kind` in a group (a group's one HAProxy, Prometheus...)."""
    return next(iter(in_group(lab, group, kind)), None)


def required(lab: Lab, group: str, kind: str) -> Service:
    found = first(lab, group, kind)
    if found is None:
        raise RegistryError(f"no host of group '{group}' has a {kind} service installed: is the lab up?")
    return found


def urls(found: Iterable[Service], port: str, path: str = "") -> list[str]:
    return [s.url(port, path) for s in found]
