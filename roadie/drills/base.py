"""What every in-region fault drill is made of, and the context it runs in."""

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from roadie.drills import cluster
from roadie.drills.contract import Check, Drill, DrillResult, Goal
from roadie.drills.endpoints import Endpoints
from roadie.drills.probes import PgReadProbe, PgTarget, PgWriteProbe, Probe, RedisWriteProbe
from roadie.drills.records import Journal
from roadie.drills.results import MEASUREMENTS
from roadie.drills.tickets import BUYERS, AppReadProbe, BookingProbe
from roadie.drills.topology import Need
from roadie.drills.watch import (
    HaproxyBackendWatcher,
    PatroniLeaderWatcher,
    SentinelMasterWatcher,
    Watcher,
    WritablePrimariesWatcher,
)
from roadie.lab.inventory import Lab
from roadie.services import registry
from roadie.services.haproxy import stats_url

PROBE_INTERVAL = 0.05
# App requests cost more on 2 cores; 10 a second per probe keeps the load realistic, not crushing.
APP_INTERVAL = 0.1


@dataclass
class DrillContext:
    lab: Lab
    endpoints: Endpoints
    secrets: dict[str, str]
    journal: Journal
    run_id: str
    target: list[str] = field(default_factory=list)  # hosts the fault hit
    stash: dict[str, Any] = field(default_factory=dict)

    def pg(self, port_name: str) -> PgTarget:
        address, primary, replicas = self.endpoints.pg_lb
        return PgTarget(address, primary if port_name == "primary" else replicas, "app", self.secrets["postgres_app"])


class FaultDrill(Drill):
    """One in-region failure scenario: choose a target, inject the fault, decide when the
    platform has recovered, and heal it afterwards; `roadie.drills.runner` runs the probes and
    watchers around it and judges the run."""

    # The hosts the drill's probes and fault need: the base probes use PostgreSQL and Redis, and
    # a failover needs a member to fail over to.
    needs = (Need("postgres", 3), Need("redis", 3))
    measurements = MEASUREMENTS
    # The drill promises that keyed bookings ride out its fault (issue 15): no buyer sees an
    # error, and none waits much longer than the database's write gap (`keyed_booking_checks`).
    keyed_bookings: ClassVar[bool] = False

    def run(self, lab: Lab, reports: Path, goals: Sequence[Goal]) -> DrillResult:
        # The runner imports this module (the context, the hooks): imported here, not above.
        from roadie.drills import runner  # noqa: PLC0415

        return runner.run(self, lab, reports, goals)

    def probes(self, ctx: DrillContext) -> list[Probe]:
        probes: list[Probe] = [
            PgWriteProbe(ctx.journal, PROBE_INTERVAL, ctx.pg("primary"), ctx.run_id),
            PgReadProbe(ctx.journal, PROBE_INTERVAL, ctx.pg("replicas")),
            RedisWriteProbe(ctx.journal, PROBE_INTERVAL, ctx.endpoints.sentinels, ctx.secrets, ctx.run_id),
        ]
        return probes + app_probes(ctx)

    def watchers(self, ctx: DrillContext) -> list[Watcher]:
        stats = registry.required(ctx.lab, "pg_lb", "haproxy_pg")
        return [
            PatroniLeaderWatcher(ctx.journal, ctx.endpoints),
            WritablePrimariesWatcher(ctx.journal, ctx.endpoints, "app", ctx.secrets["postgres_app"]),
            SentinelMasterWatcher(ctx.journal, ctx.endpoints, ctx.secrets["sentinel"]),
            HaproxyBackendWatcher(
                ctx.journal,
                stats_url=stats_url(stats),
                password=ctx.secrets["haproxy_stats"],
                backend="pg_primary",
                source="haproxy",
            ),
            *app_watchers(ctx),
        ]

    def healthy(self, ctx: DrillContext) -> bool:
        """The steady state a drill starts from and heals back to."""
        return cluster.patroni_healthy(ctx.endpoints) and cluster.redis_healthy(ctx.endpoints, ctx.secrets)

    def prepare(self, ctx: DrillContext) -> None:
        """Arrange the cluster for the drill (e.g. move the Redis master) and pick the target."""

    @abstractmethod
    def inject(self, ctx: DrillContext) -> float:
        """Inject the fault; return when it took effect (epoch seconds)."""

    def recovered(self, ctx: DrillContext, fault_at: float) -> bool:
        """The platform serves again: every write probe succeeded 5 times in a row since the fault."""
        for probe in {r.probe for r in ctx.journal.requests if r.kind == "write"}:
            recent = [r for r in ctx.journal.requests if r.probe == probe and r.sent > fault_at][-5:]
            if len(recent) < 5 or not all(r.ok for r in recent):
                return False
        return True

    @abstractmethod
    def heal(self, ctx: DrillContext) -> None:
        """Undo the fault (power the host on, thaw, reconnect)."""

    def post_checks(self, ctx: DrillContext, fault_at: float) -> list[Check]:
        """Drill-specific invariants checked after healing."""
        return []


def app_probes(ctx: DrillContext) -> list[Probe]:
    """Two buyers racing for the same seats, and a reader, through the app's load balancer."""
    if not ctx.endpoints.app_lb or "event" not in ctx.stash:
        return []
    common = {"base_url": ctx.endpoints.app_lb, "event_id": ctx.stash["event"]}
    seats, sessions, timeout = ctx.stash["seats"], ctx.stash["sessions"], ctx.stash["booking_timeout"]
    buyers = [
        BookingProbe(
            ctx.journal, APP_INTERVAL, seats=seats, name=name, session=sessions[name], timeout=timeout, **common
        )
        for name in BUYERS
    ]
    return [*buyers, AppReadProbe(ctx.journal, APP_INTERVAL, **common)]


def app_watchers(ctx: DrillContext) -> list[Watcher]:
    lb = registry.first(ctx.lab, "lb", "loadbalancer")
    if lb is None:
        return []
    return [
        HaproxyBackendWatcher(
            ctx.journal,
            stats_url=stats_url(lb),
            password=ctx.secrets["lb_stats"],
            backend="app_nodes",
            source="app-lb",
        )
    ]
