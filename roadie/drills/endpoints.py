"""Where the drill's probes and watchers connect: read from the lab's service registry,
so no address or port is written down twice."""

from dataclasses import dataclass
from typing import Any

from roadie.errors import RoadieError
from roadie.lab import hosts
from roadie.lab.inventory import Lab, LabHost


@dataclass(frozen=True)
class Endpoints:
    pg_lb: tuple[str, int, int]  # address, primary port, replicas port
    pg_members: dict[str, tuple[str, int, int]]  # host -> address, postgres port, REST port
    sentinels: list[tuple[str, int]]
    redis_members: dict[str, tuple[str, int]]
    app_lb: str | None  # base URL of the app load balancer, when deployed


def service(host: LabHost, kind: str) -> dict[str, Any] | None:
    return next((m for m in hosts.manifests(host) if m.get("kind") == kind), None)


def _required(host: LabHost, kind: str) -> dict[str, Any]:
    entry = service(host, kind)
    if entry is None:
        raise RoadieError(f"{host.name} has no {kind} service: is the lab up? ('roadie lab up')")
    return entry


def discover(lab: Lab) -> Endpoints:
    pg_lb = _required(lab.group("pg_lb")[0], "haproxy_pg")
    members = {}
    for host in lab.group("postgres"):
        entry = _required(host, "patroni")
        members[host.name] = (entry["address"], int(entry["ports"]["postgresql"]), int(entry["ports"]["restapi"]))
    sentinels = []
    redis_members = {}
    for host in lab.group("sentinel"):
        entry = _required(host, "sentinel")
        sentinels.append((entry["address"], int(entry["ports"]["sentinel"])))
    for host in lab.group("redis"):
        entry = _required(host, "redis")
        redis_members[host.name] = (entry["address"], int(entry["ports"]["redis"]))
    app_lb = None
    lb_hosts = lab.group("lb")
    lb_entry = service(lb_hosts[0], "loadbalancer") if lb_hosts else None
    if lb_entry is not None:
        app_lb = f"http://{lb_entry['address']}:{int(lb_entry['ports']['http'])}"
    return Endpoints(
        pg_lb=(pg_lb["address"], int(pg_lb["ports"]["primary"]), int(pg_lb["ports"]["replicas"])),
        pg_members=members,
        sentinels=sentinels,
        redis_members=redis_members,
        app_lb=app_lb,
    )
