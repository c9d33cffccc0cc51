"""The lab's hosts as the Ansible inventory describes them (the one source of addresses)."""

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from ansible.vars.manager import VariableManager

from roadie.errors import RoadieError
from roadie.paths import lab_inventory_dir

FULL_ONLY_GROUP = "lab_full_only"
LOCATION_PREFIXES = ("region", "r1_", "r2_", "r0_")


@dataclass(frozen=True)
class LabHost:
    """One simulated host: an address, a root directory and a cgroup."""

    name: str
    address: str
    region: int
    az: int
    root: Path
    groups: tuple[str, ...]

    @property
    def services(self) -> tuple[str, ...]:
        """Service groups (etcd, postgres, redis, ...) the host belongs to."""
        return tuple(g for g in self.groups if not g.startswith(LOCATION_PREFIXES) and g != FULL_ONLY_GROUP)

    @property
    def full_profile_only(self) -> bool:
        return FULL_ONLY_GROUP in self.groups


@dataclass(frozen=True)
class Lab:
    """The whole lab: hosts in inventory order, plus lab-wide settings."""

    root: Path
    hosts: tuple[LabHost, ...]

    def host(self, name: str) -> LabHost:
        for host in self.hosts:
            if host.name == name:
                return host
        known = ", ".join(h.name for h in self.hosts)
        raise RoadieError(f"no lab host named '{name}' (hosts: {known})")

    def group(self, name: str) -> list[LabHost]:
        return [h for h in self.hosts if name in h.groups]

    def in_profile(self, profile: str) -> list[LabHost]:
        return [h for h in self.hosts if profile == "full" or not h.full_profile_only]

    @property
    def secrets_file(self) -> Path:
        return self.root / "secrets.yml"


@cache
def load_lab(inventory: Path | None = None) -> Lab:
    """Read the lab inventory with Ansible's own parser, so nothing is described twice."""
    source = inventory or lab_inventory_dir()
    if not source.exists():
        raise RoadieError(f"lab inventory not found at {source}")
    loader = DataLoader()
    manager = InventoryManager(loader=loader, sources=[str(source)])
    variables = VariableManager(loader=loader, inventory=manager)
    hosts = []
    lab_root = None
    for host in manager.get_hosts():
        hostvars = variables.get_vars(host=host)
        templar = Templar(loader=loader, variables=hostvars)
        lab_root = Path(templar.template(hostvars["roadie_lab_root"]))
        hosts.append(
            LabHost(
                name=host.name,
                address=str(hostvars["roadie_address"]),
                region=int(hostvars["roadie_region"]),
                az=int(hostvars["roadie_az"]),
                root=Path(templar.template(hostvars["roadie_host_root"])),
                groups=tuple(sorted(hostvars["group_names"])),
            )
        )
    if lab_root is None:
        raise RoadieError(f"lab inventory {source} has no hosts")
    return Lab(root=lab_root, hosts=tuple(hosts))
