"""The drills: the failures the design documents promise to survive, plus the split-brain
scenarios Patroni must fence. Found by name; `roadie drill list` shows them."""

import time
from typing import Any

import httpx

from roadie.drills import cluster, faults
from roadie.drills.analysis import first_change, first_departure
from roadie.drills.base import PROBE_INTERVAL, Drill, DrillContext, Goal
from roadie.drills.probes import AmqpPublishProbe, Probe
from roadie.drills.topology import Need
from roadie.drills.watch import Watcher
from roadie.errors import RoadieError
from roadie.lab import hosts as lab_hosts
from roadie.services import internal_tls, registry
from roadie.services.registry import Service

# The app re-runs a keyed booking while the database has no primary (issue 15): no buyer sees
# an error, and a held booking is answered within a second of the database taking writes again.
KEYED_BOOKING_GOALS = (
    Goal("failed keyed bookings", 0, "requests"),
    Goal("longest booking latency", 1.0, over="database write gap"),
)


def _patroni_entry(ctx: DrillContext, host: str) -> Service:
    return registry.service(ctx.lab.host(host), "patroni")


def _leader(ctx: DrillContext) -> str:
    leader = cluster.patroni_leader(ctx.endpoints)
    if leader is None:
        raise RoadieError("Patroni has no leader before the drill; heal the cluster first")
    return leader


def _new_leader_seen(ctx: DrillContext, fault_at: float) -> bool:
    return first_change(ctx.journal, "patroni", "leader", fault_at) is not None


def _rejoined_as_replica(ctx: DrillContext, host: str) -> dict[str, Any]:
    role = next((m.role for m in cluster.patroni_members(ctx.endpoints) if m.name == host), "missing")
    return {
        "name": f"old primary {host} rejoined as a replica",
        "value": role,
        "goal": "replica or sync_standby",
        "met": role in ("replica", "sync_standby"),
    }


def _demoted_itself(ctx: DrillContext, host: str, fault_at: float) -> dict[str, Any]:
    """Patroni's own log on the cut-off host: did it demote itself while it could not reach etcd?"""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(fault_at))
    lines = [line for line in lab_hosts.journal(ctx.lab.host(host), "patroni") if line[:19] >= stamp]
    demoted = next((line[:23] for line in lines if "demoting self because DCS is not accessible" in line), None)
    return {
        "name": f"{host} demoted itself while cut off",
        "value": demoted or "no",
        "goal": "yes",
        "met": demoted is not None,
    }


class DbPrimaryLoss(Drill):
    name = "db-primary-loss"
    description = "Power loss of the host running the Patroni primary (every process on it dies at once)."
    goals = (
        Goal("writes back after fault", 21.0),
        Goal("acknowledged writes lost", 0, "rows"),
        *KEYED_BOOKING_GOALS,
    )

    def inject(self, ctx: DrillContext) -> float:
        ctx.target = [_leader(ctx)]
        return faults.host_action(ctx.lab, ctx.target, "power-off")[ctx.target[0]]

    def recovered(self, ctx: DrillContext, fault_at: float) -> bool:
        return _new_leader_seen(ctx, fault_at) and super().recovered(ctx, fault_at)

    def heal(self, ctx: DrillContext) -> None:
        faults.power_on(ctx.lab, ctx.target)


class AppNodeLoss(Drill):
    name = "app-node-loss"
    description = "Power loss of one app node; the load balancer must take it out without a failed client request."
    goals = (Goal("app client errors", 0, "requests"), Goal("acknowledged writes lost", 0, "rows"))
    # One node to lose and one to keep serving, behind the load balancer.
    needs = (*Drill.needs, Need("app", 2), Need("lb", 1))

    def prepare(self, ctx: DrillContext) -> None:
        if "event" not in ctx.stash:
            raise RoadieError("app-node-loss needs the app: it is not deployed in this lab")

    def inject(self, ctx: DrillContext) -> float:
        ctx.target = [ctx.lab.group("app")[0].name]
        return faults.host_action(ctx.lab, ctx.target, "power-off")[ctx.target[0]]

    def recovered(self, ctx: DrillContext, fault_at: float) -> bool:
        return first_departure(ctx.journal, "app-lb", "up", fault_at) is not None and super().recovered(ctx, fault_at)

    def heal(self, ctx: DrillContext) -> None:
        faults.power_on(ctx.lab, ctx.target)

    def healthy(self, ctx: DrillContext) -> bool:
        return super().healthy(ctx) and _app_nodes_all_up(ctx)


class DbPostgresCrash(Drill):
    name = "db-postgres-crash"
    description = "PostgreSQL alone crashes on the primary (SIGKILL of the postmaster); Patroni and the host stay up."
    goals = (Goal("writes back after fault", 21.0), Goal("acknowledged writes lost", 0, "rows"))

    def inject(self, ctx: DrillContext) -> float:
        leader = _leader(ctx)
        ctx.target = [leader]
        pidfile = f"{_patroni_entry(ctx, leader).text('data_dir')}/postmaster.pid"
        return faults.kill_process(ctx.lab, leader, pidfile)

    def heal(self, ctx: DrillContext) -> None:
        """Nothing to do: Patroni restarts PostgreSQL (or fails over) by itself."""


class DbSwitchover(Drill):
    name = "db-switchover"
    description = "Planned Patroni switchover from the primary to its synchronous standby."
    goals = (Goal("write gap", 3.0), Goal("acknowledged writes lost", 0, "rows"), *KEYED_BOOKING_GOALS)

    def inject(self, ctx: DrillContext) -> float:
        leader = _leader(ctx)
        sync = [m.name for m in cluster.patroni_members(ctx.endpoints) if m.role == "sync_standby"]
        if not sync:
            raise RoadieError("no synchronous standby to switch over to")
        ctx.target = [leader]
        entry = _patroni_entry(ctx, leader)
        return faults.switchover(ctx.lab, leader, sync[0], entry.text("patronictl"), entry.text("config"))

    def recovered(self, ctx: DrillContext, fault_at: float) -> bool:
        return _new_leader_seen(ctx, fault_at) and super().recovered(ctx, fault_at)

    def heal(self, ctx: DrillContext) -> None:
        """Nothing to do: the old primary rejoins as a replica by itself."""


class RedisMasterLoss(Drill):
    name = "redis-master-loss"
    description = "Power loss of the host running the Redis master (and one of the three Sentinels)."
    goals = (Goal("writes back after fault", 2.5), Goal("acknowledged writes lost", 0, "keys"))

    def inject(self, ctx: DrillContext) -> float:
        master = cluster.redis_master(ctx.endpoints, ctx.secrets)
        if master is None:
            raise RoadieError("the Sentinels report no Redis master before the drill")
        ctx.target = [master]
        return faults.host_action(ctx.lab, ctx.target, "power-off")[master]

    def recovered(self, ctx: DrillContext, fault_at: float) -> bool:
        return first_change(ctx.journal, "sentinel", "master", fault_at) is not None and super().recovered(
            ctx, fault_at
        )

    def heal(self, ctx: DrillContext) -> None:
        faults.power_on(ctx.lab, ctx.target)


class AzOutage(Drill):
    name = "az-outage"
    description = "Every host of the availability zone holding the Patroni primary and the Redis master dies."
    goals = (
        Goal("longest read outage", 3.0),
        Goal("writes back after fault", 22.0),
        Goal("acknowledged writes lost", 0, "rows"),
    )

    def prepare(self, ctx: DrillContext) -> None:
        """Put the Redis master in the Patroni primary's zone, so one zone takes both down. The
        Redis master moves (a Sentinel failover goes to any replica); the Patroni primary stays:
        a switchover may only go to the synchronous standby."""
        leader = ctx.lab.host(_leader(ctx))
        master = cluster.redis_master(ctx.endpoints, ctx.secrets)
        if master is None or ctx.lab.host(master).az != leader.az:
            cache = next(h.name for h in ctx.lab.group("redis") if h.az == leader.az)
            cluster.move_redis_master(ctx.endpoints, ctx.secrets, cache)
            cluster.wait_for(lambda: self.healthy(ctx), 90, "the cluster to settle after the Redis failover")
        ctx.stash["az"] = leader.az

    def inject(self, ctx: DrillContext) -> float:
        zone = ctx.stash["az"]
        ctx.target = [h.name for h in ctx.lab.hosts if h.region == 1 and h.az == zone and lab_hosts.is_powered_on(h)]
        return min(faults.host_action(ctx.lab, ctx.target, "power-off").values())

    def recovered(self, ctx: DrillContext, fault_at: float) -> bool:
        return _new_leader_seen(ctx, fault_at) and super().recovered(ctx, fault_at)

    def heal(self, ctx: DrillContext) -> None:
        faults.power_on(ctx.lab, ctx.target)


class DbPrimaryFreeze(Drill):
    name = "db-primary-freeze"
    description = (
        "The primary's host freezes (VM pause) for longer than the leader ttl, then thaws: "
        "it must not take writes once a new primary exists."
    )
    goals = (Goal("writes back after fault", 22.0), Goal("acknowledged writes lost", 0, "rows"))

    def inject(self, ctx: DrillContext) -> float:
        ctx.target = [_leader(ctx)]
        return faults.host_action(ctx.lab, ctx.target, "freeze")[ctx.target[0]]

    def recovered(self, ctx: DrillContext, fault_at: float) -> bool:
        if not (_new_leader_seen(ctx, fault_at) and super().recovered(ctx, fault_at)):
            return False
        # Thaw while probes and watchers still run: the old primary must not answer writes.
        if "thawed_at" not in ctx.stash:
            ctx.stash["thawed_at"] = faults.host_action(ctx.lab, ctx.target, "thaw")[ctx.target[0]]
            ctx.journal.event("drill", "thaw", at=ctx.stash["thawed_at"], host=ctx.target[0])
            return False
        return True

    def heal(self, ctx: DrillContext) -> None:
        if "thawed_at" not in ctx.stash:
            faults.host_action(ctx.lab, ctx.target, "thaw")

    def post_checks(self, ctx: DrillContext, fault_at: float) -> list[dict[str, Any]]:
        return [_rejoined_as_replica(ctx, ctx.target[0])]


class DbPrimaryPartition(Drill):
    name = "db-primary-partition"
    description = "The primary's host is cut off from the network (etcd, its peers, HAProxy): it must demote."
    goals = (Goal("writes back after fault", 22.0), Goal("acknowledged writes lost", 0, "rows"))

    def inject(self, ctx: DrillContext) -> float:
        ctx.target = [_leader(ctx)]
        return faults.host_action(ctx.lab, ctx.target, "isolate")[ctx.target[0]]

    def recovered(self, ctx: DrillContext, fault_at: float) -> bool:
        return _new_leader_seen(ctx, fault_at) and super().recovered(ctx, fault_at)

    def heal(self, ctx: DrillContext) -> None:
        faults.host_action(ctx.lab, ctx.target, "connect")

    def post_checks(self, ctx: DrillContext, fault_at: float) -> list[dict[str, Any]]:
        return [_demoted_itself(ctx, ctx.target[0], fault_at), _rejoined_as_replica(ctx, ctx.target[0])]


class RabbitmqNodeLoss(Drill):
    name = "rabbitmq-node-loss"
    description = (
        "Power loss of the RabbitMQ node the publisher is connected to, in a 3-node cluster "
        "with a quorum queue (`roadie lab up --profile full`)."
    )
    goals = (Goal("writes back after fault", 5.0), Goal("acknowledged writes lost", 0, "messages"))
    # A quorum queue keeps a majority after losing one node of three.
    needs = (Need("rabbitmq", 3),)

    def _nodes(self, ctx: DrillContext) -> list[tuple[str, int, str]]:
        nodes = []
        for host in ctx.lab.group("rabbitmq"):
            entry = registry.find(host, "rabbitmq")
            if entry is not None and lab_hosts.is_powered_on(host):
                nodes.append((entry.address, entry.ports["amqp"], entry.text("vhost")))
        return nodes

    def prepare(self, ctx: DrillContext) -> None:
        if len(self._nodes(ctx)) < 3:
            raise RoadieError("rabbitmq-node-loss needs the 3-node cluster: run 'roadie lab up --profile full'")

    def probes(self, ctx: DrillContext) -> list[Probe]:
        nodes = self._nodes(ctx)
        probe = AmqpPublishProbe(
            ctx.journal,
            PROBE_INTERVAL,
            nodes=[(a, p) for a, p, _ in nodes],
            vhost=nodes[0][2],
            user="app",
            password=ctx.secrets["rabbitmq_app"],
            queue=f"drill-{ctx.run_id}",
        )
        ctx.stash["amqp"] = probe
        return [probe]

    def watchers(self, ctx: DrillContext) -> list[Watcher]:
        return []

    def healthy(self, ctx: DrillContext) -> bool:
        return all(_amqp_accepts(a, p, v, ctx.secrets["rabbitmq_app"]) for a, p, v in self._nodes(ctx)) and len(
            self._nodes(ctx)
        ) == len(ctx.lab.group("rabbitmq"))

    def inject(self, ctx: DrillContext) -> float:
        probe: AmqpPublishProbe = ctx.stash["amqp"]
        connected = probe.connected_to or self._nodes(ctx)[0][0]
        ctx.target = [h.name for h in ctx.lab.group("rabbitmq") if h.address == connected]
        return faults.host_action(ctx.lab, ctx.target, "power-off")[ctx.target[0]]

    def heal(self, ctx: DrillContext) -> None:
        faults.power_on(ctx.lab, ctx.target)


def _app_nodes_all_up(ctx: DrillContext) -> bool:
    """Every app node answers its health check and the load balancer routes to it."""
    for host in ctx.lab.group("app"):
        entry = registry.find(host, "app")
        if entry is None:
            return False
        try:
            if httpx.get(entry.url("http", "/readyz"), timeout=2).status_code != 200:
                return False
        except httpx.HTTPError:
            return False
    return True


def _amqp_accepts(address: str, port: int, vhost: str, password: str) -> bool:
    import pika  # noqa: PLC0415 - only the RabbitMQ drill needs it

    parameters = pika.ConnectionParameters(
        address,
        port,
        vhost,
        pika.PlainCredentials("app", password),
        connection_attempts=1,
        socket_timeout=2,
        ssl_options=internal_tls.amqp_ssl_options(address),
    )
    try:
        pika.BlockingConnection(parameters).close()
    except pika.exceptions.AMQPError:
        return False
    return True


DRILLS: dict[str, type[Drill]] = {
    cls.name: cls
    for cls in (
        AppNodeLoss,
        DbPrimaryLoss,
        DbPostgresCrash,
        DbSwitchover,
        RedisMasterLoss,
        AzOutage,
        DbPrimaryFreeze,
        DbPrimaryPartition,
        RabbitmqNodeLoss,
    )
}


def get(name: str) -> Drill:
    if name not in DRILLS:
        raise RoadieError(f"unknown drill '{name}' (drills: {', '.join(DRILLS)})")
    return DRILLS[name]()
