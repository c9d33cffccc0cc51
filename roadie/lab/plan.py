"""The lab's machines as `infra/lab/hosts.yml` declares them: what the Pulumi program is for AWS.

`roadie lab up` provisions the hosts of a profile from this plan and describes them with
`stack_output()` in the shape of a roadie stack's outputs (infra/roadie_infra/outputs.py), so
that the lab's inventory comes from the same code as a cloud inventory
(`roadie inventory from-stack`).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from roadie.errors import RoadieError
from roadie.inventory.groups import OPTIONAL_SERVICE_GROUPS, SERVICE_GROUPS
from roadie.paths import project_root

PROFILES: tuple[str, ...] = ("core", "full")
# The user Ansible logs in as on every lab host (sudo without a password, as cloud images'
# default users have); `roadie lab up` gives it the lab's SSH key.
DEPLOY_USER = "roadie"
LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
# Per region, the service groups whose host stands in for the cloud's PostgreSQL NLB and app
# ALB: their addresses are the region's `endpoints` in the stack output.
ENDPOINT_GROUPS: dict[int, tuple[str, str]] = {1: ("pg_lb", "lb"), 2: ("pg_lb_dr", "lb_dr")}


@dataclass(frozen=True)
class PlannedHost:
    """One machine of the plan: its name, address, location, service groups and profiles."""

    name: str
    address: str
    region: int
    az: int
    roles: tuple[str, ...]
    profiles: tuple[str, ...]

    def record(self) -> dict[str, Any]:
        """The host as the stack output's `hosts` list has it."""
        return {
            "name": self.name,
            "address": self.address,
            "region": self.region,
            "az": self.az,
            "roles": list(self.roles),
        }


@dataclass(frozen=True)
class LabPlan:
    """Every machine the lab can run, in the plan's order."""

    environment: str
    network: str
    hosts: tuple[PlannedHost, ...]

    def for_profile(self, profile: str) -> tuple[PlannedHost, ...]:
        check_profile(profile)
        return tuple(h for h in self.hosts if profile in h.profiles)

    def stack_output(self, profile: str) -> dict[str, Any]:
        """What `pulumi stack output --json` would print for the hosts of `profile`."""
        return {
            "environment": self.environment,
            "vpc_cidr": self.network,
            "ansible_user": DEPLOY_USER,
            "hosts": [h.record() for h in self.for_profile(profile)],
            "endpoints": self.endpoints(profile),
        }

    def endpoints(self, profile: str) -> list[dict[str, Any]]:
        """Each region's endpoints: the addresses of its HAProxy hosts (the lab's load balancers)."""
        hosts = self.for_profile(profile)
        found = []
        for region, (postgres, app) in ENDPOINT_GROUPS.items():
            addresses = {group: [h.address for h in hosts if group in h.roles] for group in (postgres, app)}
            if all(addresses.values()):
                found.append({"region": region, "postgres": addresses[postgres][0], "app": addresses[app][0]})
        return found


def plan_file() -> Path:
    return project_root() / "infra" / "lab" / "hosts.yml"


def check_profile(profile: str) -> None:
    if profile not in PROFILES:
        raise RoadieError(f"unknown profile '{profile}' (profiles: {', '.join(PROFILES)})")


@cache
def load_plan(path: Path | None = None) -> LabPlan:
    """Read and validate the plan; every problem is named with the host it is on."""
    source = path or plan_file()
    try:
        data = yaml.safe_load(source.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise RoadieError(f"cannot read the lab plan {source}: {err}") from err
    if not isinstance(data, dict) or not isinstance(data.get("hosts"), list):
        raise RoadieError(f"{source}: expected a mapping with a 'hosts' list")
    hosts = tuple(_host(entry, index, source) for index, entry in enumerate(data["hosts"]))
    _check_unique(hosts, source)
    return LabPlan(environment=str(data.get("environment", "lab")), network=str(data.get("network")), hosts=hosts)


def _host(entry: Any, index: int, source: Path) -> PlannedHost:
    where = f"{source}: hosts[{index}]"
    if not isinstance(entry, dict):
        raise RoadieError(f"{where} is not a mapping")
    where = f"{source}: host {entry.get('name', index)}"
    try:
        address = ipaddress.ip_address(str(entry["address"]))
        host = PlannedHost(
            name=str(entry["name"]),
            address=str(address),
            region=int(entry["region"]),
            az=int(entry["az"]),
            roles=tuple(entry["roles"]),
            profiles=tuple(entry.get("profiles", PROFILES)),
        )
    except (KeyError, ValueError, TypeError) as err:
        raise RoadieError(f"{where}: {err}") from err
    if address not in LOOPBACK:
        raise RoadieError(f"{where}: {address} is outside 127.0.0.0/8 (lab hosts use loopback addresses only)")
    unknown = sorted(set(host.roles) - set(SERVICE_GROUPS) - set(OPTIONAL_SERVICE_GROUPS))
    if unknown or not host.roles:
        raise RoadieError(f"{where}: roles {list(host.roles)} (unknown: {unknown})")
    bad_profiles = sorted(set(host.profiles) - set(PROFILES))
    if bad_profiles:
        raise RoadieError(f"{where}: unknown profiles {bad_profiles} (profiles: {', '.join(PROFILES)})")
    return host


def _check_unique(hosts: tuple[PlannedHost, ...], source: Path) -> None:
    for attribute, plural in (("name", "names"), ("address", "addresses")):
        values = [getattr(h, attribute) for h in hosts]
        doubles = sorted({v for v in values if values.count(v) > 1})
        if doubles:
            raise RoadieError(f"{source}: {plural} used twice: {', '.join(doubles)}")
