"""The two regions as the lab inventory and the hosts' service registries describe them."""

from dataclasses import dataclass
from pathlib import Path

from roadie.dr.dns import FailoverName
from roadie.errors import RoadieError
from roadie.inventory import ports
from roadie.lab.inventory import Lab, LabHost
from roadie.services import registry

# Service groups of each region: the primary region's and the DR region's (suffix _dr).
GROUPS = {
    1: {"db": "postgres", "pg_lb": "pg_lb", "lb": "lb", "app": "app"},
    2: {"db": "postgres_dr", "pg_lb": "pg_lb_dr", "lb": "lb_dr", "app": "app_dr"},
}
DNS_GROUP = "dns_api"


@dataclass(frozen=True)
class Member:
    """One Patroni member: its host, addresses and configuration file."""

    host: str
    address: str
    pg_port: int
    rest_port: int
    config: Path
    data_dir: Path
    patronictl: Path
    ca_file: Path  # on the host: the internal CA its REST API's certificate comes from

    @property
    def rest_url(self) -> str:
        return f"https://{self.address}:{self.rest_port}"


@dataclass(frozen=True)
class Region:
    number: int
    hosts: tuple[LabHost, ...]
    members: tuple[Member, ...]
    pg_lb: tuple[str, int] | None  # address, read-write port
    app_lb: tuple[str, int] | None  # address, http port
    app_hosts: tuple[LabHost, ...]
    # Addresses of the region's entry points as the inventory names them (DNS targets).
    pg_lb_address: str | None = None
    lb_address: str | None = None

    @property
    def host_names(self) -> list[str]:
        return [h.name for h in self.hosts]


@dataclass(frozen=True)
class Topology:
    regions: dict[int, Region]
    dns_endpoint: str

    def region(self, number: int) -> Region:
        if number not in self.regions:
            raise RoadieError(f"the lab inventory has no region {number}")
        return self.regions[number]

    @property
    def pg_lb_port(self) -> int:
        """HAProxy's read-write port, where the `db` DNS name leads: both regions' HAProxies open
        the port table's, so a region without one in the inventory changes nothing."""
        for region in self.regions.values():
            if region.pg_lb is not None:
                return region.pg_lb[1]
        return ports.port("haproxy_pg", "primary")

    def dns_names(self) -> list[FailoverName]:
        """`db` (HAProxy rw) and `app` (the app load balancer), as the DR playbook creates them."""
        names = [FailoverName("db", {n: r.pg_lb_address for n, r in self.regions.items() if r.pg_lb_address})]
        if all(r.lb_address for r in self.regions.values()):
            names.append(FailoverName("app", {n: r.lb_address for n, r in self.regions.items() if r.lb_address}))
        return names


def _members(lab: Lab, group: str) -> tuple[Member, ...]:
    members = []
    for host in lab.group(group):
        entry = registry.find(host, "patroni")
        if entry is None:
            raise RoadieError(f"{host.name} runs no Patroni: bring the DR region up ('roadie lab up --profile full')")
        members.append(
            Member(
                host.name,
                entry.address,
                entry.ports["postgresql"],
                entry.ports["restapi"],
                entry.path("config"),
                entry.path("data_dir", "/var/lib/postgresql/15/main"),
                entry.path("patronictl", "/opt/patroni/bin/patronictl"),
                entry.path("ca_file"),
            )
        )
    return tuple(members)


def _endpoint(lab: Lab, group: str, kind: str, port: str) -> tuple[str, int] | None:
    entry = registry.first(lab, group, kind)
    if entry is None:
        return None
    found = entry.endpoint(port)
    return found.address, found.port


def discover(lab: Lab) -> Topology:
    regions = {}
    for number, groups in GROUPS.items():
        regions[number] = Region(
            number=number,
            hosts=tuple(h for h in lab.hosts if h.region == number),
            members=_members(lab, groups["db"]),
            pg_lb=_endpoint(lab, groups["pg_lb"], "haproxy_pg", "primary"),
            app_lb=_endpoint(lab, groups["lb"], "loadbalancer", "https"),
            app_hosts=tuple(lab.group(groups["app"])),
            pg_lb_address=next((h.address for h in lab.group(groups["pg_lb"])), None),
            lb_address=next((h.address for h in lab.group(groups["lb"])), None),
        )
    dns = _endpoint(lab, DNS_GROUP, "moto", "api")
    if dns is None:
        raise RoadieError("the DNS stand-in (moto) is not running: bring the DR region up (playbooks/dr.yml)")
    return Topology(regions, f"http://{dns[0]}:{dns[1]}")
