"""The lab's hosts: the plan's machines of the current profile, with their inventory groups.

The groups come from the inventory `roadie lab up` generates (the same `build_inventory` as
`roadie inventory from-stack`), built here in memory from the plan, so that the toolkit and the
playbooks never disagree about which host is in which group.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from roadie.errors import RoadieError
from roadie.inventory import build_inventory, parse_stack_output
from roadie.inventory.build import host_groups
from roadie.lab.machines import Machine
from roadie.lab.plan import PROFILES, LabPlan, check_profile, load_plan
from roadie.lab.ssh import SshFiles
from roadie.tls_files import TlsFiles

LOCATION_PREFIXES = ("region", "r1_", "r2_", "r0_")
DEFAULT_PROFILE = PROFILES[0]


def lab_root() -> Path:
    """Where the lab keeps its disks, secrets, SSH material and logs (ROADIE_LAB_ROOT overrides)."""
    return Path(os.environ.get("ROADIE_LAB_ROOT", "/var/lib/roadie/lab"))


def lab_tls_files(root: Path | None = None) -> TlsFiles:
    """Where the lab keeps its internal CA and its hosts' certificates."""
    return TlsFiles((root or lab_root()) / "tls")


@dataclass(frozen=True)
class LabHost:
    """One lab machine: its address, location, inventory groups and disk."""

    name: str
    address: str
    region: int
    az: int
    groups: tuple[str, ...]
    machine: Machine

    @property
    def root(self) -> Path:
        """The host's filesystem as the controller sees it (its mounted disk)."""
        return self.machine.root

    @property
    def services(self) -> tuple[str, ...]:
        """Service groups (etcd, postgres, redis, ...) the host belongs to."""
        return tuple(g for g in self.groups if not g.startswith(LOCATION_PREFIXES))


@dataclass(frozen=True)
class Lab:
    """The lab of one profile: its hosts in plan order, plus where its files are."""

    root: Path
    profile: str
    hosts: tuple[LabHost, ...]

    def host(self, name: str) -> LabHost:
        for host in self.hosts:
            if host.name == name:
                return host
        known = ", ".join(h.name for h in self.hosts)
        raise RoadieError(f"no lab host named '{name}' in the {self.profile} profile (hosts: {known})")

    def group(self, name: str) -> list[LabHost]:
        return [h for h in self.hosts if name in h.groups]

    @property
    def secrets_file(self) -> Path:
        return self.root / "secrets.yml"

    @property
    def inventory_dir(self) -> Path:
        return self.root / "inventory"

    @property
    def tls(self) -> TlsFiles:
        """The lab's internal CA and host certificates (roadie/tls.py)."""
        return lab_tls_files(self.root)

    @property
    def ssh(self) -> SshFiles:
        return SshFiles(self.root / "ssh")


def inventory_for(plan: LabPlan, profile: str, root: Path) -> dict[str, Any]:
    """The lab's inventory for `profile`: built from the plan's stack output like any other."""
    inventory = add_lab_groups(build_inventory([parse_stack_output(plan.stack_output(profile))]))
    inventory["all"]["vars"]["roadie_lab_root"] = str(root)
    return inventory


def add_lab_groups(inventory: dict[str, Any]) -> dict[str, Any]:
    """Add the groups only the lab has, which its playbooks' lab-only and cloud-only plays use.

    `alert_recorder`: the monitoring host records notifications for `roadie alerts` (instead of
    a chat webhook). `shared_kernel`: every other host shares the machine's kernel, which the
    monitoring host's node_exporter measures once. `no_vendor_packages`: every lab host, where
    Grafana, Loki, Promtail and Jaeger cannot be installed (roadie/lab/standins.py). Other
    inventories have these groups empty (roadie.inventory.groups.LAB_GROUPS).
    """
    everyone = set(host_groups(inventory))
    monitoring = {host for host, groups in host_groups(inventory).items() if "monitoring" in groups}
    lab_groups = {
        "alert_recorder": monitoring,
        "shared_kernel": everyone - monitoring,
        "no_vendor_packages": everyone,
    }
    inventory["all"]["children"].update(
        {name: {"hosts": dict.fromkeys(sorted(hosts))} for name, hosts in lab_groups.items()}
    )
    return inventory


def current_profile(root: Path | None = None) -> str:
    marker = (root or lab_root()) / "profile"
    return marker.read_text().strip() if marker.exists() else DEFAULT_PROFILE


@cache
def load_lab(profile: str | None = None) -> Lab:
    """The lab of `profile` (default: the one it was last brought up with)."""
    root = lab_root()
    chosen = profile or current_profile(root)
    check_profile(chosen)
    plan = load_plan()
    groups = host_groups(inventory_for(plan, chosen, root))
    hosts = tuple(
        LabHost(
            name=h.name,
            address=h.address,
            region=h.region,
            az=h.az,
            groups=tuple(sorted(groups[h.name])),
            machine=Machine(h.name, h.address, root / "machines" / h.name),
        )
        for h in plan.for_profile(chosen)
    )
    return Lab(root=root, profile=chosen, hosts=hosts)
