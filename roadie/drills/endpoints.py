"""Where the drill's probes and watchers connect: read from the lab's service registry,
so no address or port is written down twice."""

from dataclasses import dataclass

from roadie.lab.inventory import Lab
from roadie.services import registry
from roadie.services.patroni import Patroni
from roadie.services.redis import DEFAULT_MASTER_NAME, Sentinels
from roadie.services.registry import Endpoint


@dataclass(frozen=True)
class Endpoints:
    pg_lb: tuple[str, int, int]  # address, primary port, replicas port
    pg_members: dict[str, tuple[str, int, int]]  # host -> address, postgres port, REST port
    sentinels: list[tuple[str, int]]
    redis_members: dict[str, tuple[str, int]]
    app_lb: str | None  # base URL of the app load balancer, when deployed
    sentinel_master: str = DEFAULT_MASTER_NAME

    def patroni(self) -> Patroni:
        """The cluster, through its members' REST APIs."""
        return Patroni([Endpoint(address, rest, "https").url() for address, _, rest in self.pg_members.values()])

    def sentinel_set(self, password: str, timeout: float = 1.0) -> Sentinels:
        return Sentinels(tuple(Endpoint(*s) for s in self.sentinels), password, self.sentinel_master, timeout)


def discover(lab: Lab) -> Endpoints:
    pg_lb = registry.service(lab.group("pg_lb")[0], "haproxy_pg")
    members = {}
    for host in lab.group("postgres"):
        entry = registry.service(host, "patroni")
        members[host.name] = (entry.address, entry.ports["postgresql"], entry.ports["restapi"])
    sentinels = [registry.service(host, "sentinel") for host in lab.group("sentinel")]
    redis_members = {host.name: registry.service(host, "redis").endpoint("redis") for host in lab.group("redis")}
    lb = registry.first(lab, "lb", "loadbalancer")
    return Endpoints(
        pg_lb=(pg_lb.address, pg_lb.ports["primary"], pg_lb.ports["replicas"]),
        pg_members=members,
        sentinels=[(s.address, s.ports["sentinel"]) for s in sentinels],
        redis_members={name: (e.address, e.port) for name, e in redis_members.items()},
        app_lb=lb.url("https") if lb is not None else None,
        sentinel_master=sentinels[0].text("master_name", DEFAULT_MASTER_NAME) if sentinels else DEFAULT_MASTER_NAME,
    )
