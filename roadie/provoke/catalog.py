"""The provocations: for each alert, a bounded fault that makes it fire on the lab and the heal
that undoes it, with what the alert's runbook must then name; and the benign events that must
not page (`silent`).

A provocation runs in a tier: provocations of one tier run one after another (they share the
part they break; the benign events first, so that an alert still clearing from its provocation
cannot count against them), tiers run at the same time.
"""

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg

from roadie.apiauth import ApiCredentials
from roadie.errors import RoadieError
from roadie.polling import poll_until
from roadie.provoke.booking_load import RefusedBookings
from roadie.provoke.causes import Cause, line_matching, line_with, series
from roadie.provoke.context import Context

REPLICATION_LAG_BYTES = 16 * 1024 * 1024  # the alert's threshold (alerts/rules/database.yml)
ALERT_CONNECTIONS_SHARE = 0.8  # PostgresConnectionsHigh's threshold
CONNECTIONS_SHARE = 0.85
BACKLOG_MARKERS = 1100  # RabbitMQQueueBacklog pages above 1,000 ready messages


@dataclass(frozen=True)
class Expect:
    """An alert instance the provocation must make fire, and the causes its runbook must name."""

    alert: str
    labels: dict[str, str]
    causes: tuple[Cause, ...]
    # Alertmanager must NOT notify it: this alert, firing at the same time, inhibits it
    # (alerts/alertmanager/routing.yml), and the inhibition is part of what is proven.
    inhibited_by: str = ""


@dataclass
class Injected:
    expects: list[Expect]
    heal: Callable[[], None]
    facts: dict[str, str] = field(default_factory=dict)  # what was broken, for the report
    # A benign event: the labels an instance of a `silent` alert must carry to count against it
    # (the restarted host's), so that another tier's fault elsewhere does not.
    silent_labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Provocation:
    name: str
    summary: str
    tier: str
    alerts: tuple[str, ...]  # must fire (and notify, and resolve after the heal)
    inject: Callable[[Context], Injected]
    silent: tuple[str, ...] = ()  # must not fire while it runs (a benign event)
    fire_within_s: float = 90.0  # injection to pending: the condition may need a scrape or a window
    resolve_within_s: float = 90.0  # heal to resolved: a windowed expression waits out its window
    hold_s: float = 0.0  # a benign event: how long it is watched for alerts that must stay silent
    exclusive: bool = False  # breaks what other tiers stand on: runs alone, after every tier


CATALOG: list[Provocation] = []

NOT_YET = "provocation not built yet (issue 19)"
# Alerts no provocation makes fire yet, and why. The unit tests fail on an alert that is in
# neither the catalog nor here, so a new alert cannot go unprovoked unnoticed.
NOT_PROVOKED: dict[str, str] = {
    "AppErrorBudgetBurnFast": NOT_YET + ": a bounded load with injected 5xx",
    "AppErrorBudgetBurnSlow": NOT_YET + ": its 6 h window is not scaled by the lab's factor",
    "AppLatencyP95High": NOT_YET + ": a bounded load with injected latency",
    "AppLatencyP95Critical": NOT_YET + ": a bounded load with injected latency",
    "AppLatencyP99High": NOT_YET + ": a bounded load with injected latency",
    "PgBackRestFullBackupTooOld": NOT_YET + ": ageing the last backup's timestamp",
    "PgBackRestIncrementalBackupTooOld": NOT_YET + ": ageing the last backup's timestamp",
    "PgBackRestNoFullBackup": NOT_YET + ": a stanza without a full backup",
    "PostgresWalArchivingFailing": NOT_YET + ": a failing archive_command",
    "PgBackRestWalArchiveGap": NOT_YET + ": a gap in the archived WAL",
    "SupplierSuccessRateLow": NOT_YET + ": the simulator's error rate under search load",
    "SupplierBookingFailures": NOT_YET + ": the simulator's booking_fails mode with bookings",
    "NegativeCacheFalsePositivesHigh": NOT_YET + ": filling a supplier's Bloom filter",
    "RedisMasterChanged": NOT_YET + ": a Sentinel failover (the failover drills fire it)",
    "CacheHitRateLow": NOT_YET + ": a search load of unseen stays",
    "CacheHitRateCritical": NOT_YET + ": a search load of unseen stays",
    "PatroniLeaderChanged": NOT_YET + ": a switchover (resolves only after its 10 m window)",
    "AvailabilityZoneDown": "proven by the az-outage drill, not here (it takes a whole zone down): its report "
    "shows it firing and cleared, and tests/lab/drills asserts both",
    "HostHighCPU": NOT_YET + ": the lab's one node_exporter measures the whole 2-core machine, and 90 % "
    "for 5 minutes would starve every other tier",
    "HostMemoryLow": "cannot be provoked here: the lab's node_exporter reads the shared kernel's /proc/meminfo "
    "(24 GiB), which a host cgroup's memory.high does not change; filling the machine would take the lab down",
    "HostDiskSpaceLow": NOT_YET + ": a small filesystem mounted into the monitoring host with nsenter was not "
    "listed by its node_exporter; needs a size-limited data filesystem that lab up provisions",
}


def provocation(**spec: object) -> Callable[[Callable[[Context], Injected]], Callable[[Context], Injected]]:
    def register(inject: Callable[[Context], Injected]) -> Callable[[Context], Injected]:
        CATALOG.append(Provocation(inject=inject, **spec))  # type: ignore[arg-type]
        return inject

    return register


def find(name: str) -> Provocation:
    for one in CATALOG:
        if one.name == name or name in one.alerts:
            return one
    known = ", ".join(p.name for p in CATALOG)
    raise RoadieError(f"no provocation named '{name}' and none provokes an alert of that name (provocations: {known})")


def _background(conn: psycopg.Connection, sql: str) -> threading.Thread:
    """Run a statement on its own thread; a cancel from another session ends it."""

    def run() -> None:
        with contextlib.suppress(psycopg.errors.QueryCanceled, psycopg.OperationalError):
            conn.execute(sql)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _cancel(ctx: Context, pid: int) -> None:
    with ctx.primary() as admin:
        admin.execute("select pg_cancel_backend(%s)", (pid,))


# PostgreSQL


@provocation(
    name="slow-query",
    summary="one statement sleeps 10 minutes in the app database on the primary; heal: cancel it",
    tier="postgres-primary",
    alerts=("PostgresSlowQueries",),
)
def slow_query(ctx: Context) -> Injected:
    leader = ctx.leader()
    conn = ctx.primary("app")
    pid = conn.info.backend_pid
    thread = _background(conn, "select pg_sleep(600) -- roadie provoke slow-query")

    def heal() -> None:
        _cancel(ctx, pid)
        thread.join(timeout=10)
        conn.close()

    causes = (
        line_with("the sleeping statement", "pg_sleep(600)"),
        series(f"the long transaction on {leader}", {"host": leader, "datname": "app"}, above=5),
    )
    return Injected([Expect("PostgresSlowQueries", {"host": leader, "datname": "app"}, causes)], heal, {"host": leader})


@provocation(
    name="slow-statement-under-for",
    summary="benign: one statement runs 7 s (past the 5 s threshold, shorter than the alert's for:)",
    tier="postgres-primary",
    alerts=(),
    silent=("PostgresSlowQueries",),
    hold_s=30.0,
)
def slow_statement_under_for(ctx: Context) -> Injected:
    with ctx.primary("app") as conn:
        conn.execute("select pg_sleep(7) -- roadie provoke slow-statement-under-for")
    return Injected([], lambda: None, silent_labels={"datname": "app"})


def _deadlock(ctx: Context) -> None:
    """Two sessions take advisory locks in opposite order: PostgreSQL kills one of them."""
    with ctx.primary("app") as a, ctx.primary("app") as b:
        a.execute("select pg_advisory_lock(424201)")
        b.execute("select pg_advisory_lock(424202)")
        detected: list[Exception] = []

        def a_waits_for_b() -> None:
            try:
                a.execute("select pg_advisory_lock(424202)")
            except psycopg.errors.DeadlockDetected as exc:
                detected.append(exc)
                a.execute("select pg_advisory_unlock_all()")

        waiter = threading.Thread(target=a_waits_for_b)
        waiter.start()
        pid = a.info.backend_pid
        poll_until(
            lambda: (
                b.execute("select wait_event_type from pg_stat_activity where pid = %s", (pid,)).fetchone() == ("Lock",)
            ),
            10,
            "the first session to wait for the second one's lock",
        )
        try:
            b.execute("select pg_advisory_lock(424201)")
        except psycopg.errors.DeadlockDetected as exc:
            detected.append(exc)
            b.execute("select pg_advisory_unlock_all()")
        waiter.join(timeout=10)
        if not detected:
            raise RoadieError("PostgreSQL detected no deadlock between the two sessions")


@provocation(
    name="deadlock",
    summary="two sessions lock two advisory locks in opposite order (PostgreSQL aborts one)",
    tier="postgres-primary",
    alerts=("PostgresDeadlocks",),
    resolve_within_s=390.0,  # increase(...[5m]): the deadlock counts for five minutes
)
def deadlock(ctx: Context) -> Injected:
    leader = ctx.leader()
    _deadlock(ctx)
    causes = (series(f"a deadlock in app on {leader}", {"host": leader, "datname": "app"}, above=0),)
    return Injected([Expect("PostgresDeadlocks", {"host": leader, "datname": "app"}, causes)], lambda: None)


@provocation(
    name="lock-wait",
    summary="benign: one session waits 3 s for another's lock, then gets it (no deadlock)",
    tier="postgres-primary",
    alerts=(),
    silent=("PostgresDeadlocks",),
    hold_s=30.0,
)
def lock_wait(ctx: Context) -> Injected:
    with ctx.primary("app") as a, ctx.primary("app") as b:
        a.execute("select pg_advisory_lock(424203)")
        timer = threading.Timer(3.0, lambda: a.execute("select pg_advisory_unlock(424203)"))
        timer.start()
        b.execute("select pg_advisory_lock(424203)")
        b.execute("select pg_advisory_unlock(424203)")
        timer.join()
    return Injected([], lambda: None)


@provocation(
    name="replica-replay-stopped",
    summary="a replica's WAL replay (its startup process) is stopped while the primary writes 40 MB; heal: resume it",
    tier="postgres-cluster",
    alerts=("PostgresReplicationLagHigh",),
)
def replica_replay_stopped(ctx: Context) -> Injected:
    # pg_wal_replay_pause() does not hold: Patroni resumes a paused replica within a loop or two.
    members = ctx.cluster()
    replicas = [m.name for m in members if m.role == "replica"] or [m.name for m in members if m.role == "sync_standby"]
    if not replicas:
        raise RoadieError("the cluster has no replica whose replay could be stopped")
    replica = replicas[-1]
    startup = ctx.process(replica, "startup recovering")
    ctx.signal(replica, startup, "STOP")
    try:
        with ctx.primary() as primary:
            primary.execute("drop table if exists roadie_provoke_lag")
            primary.execute(
                "create table roadie_provoke_lag as select repeat('x', 1000) from generate_series(1, 40000)"
            )
    except Exception:
        ctx.signal(replica, startup, "CONT")
        raise

    def heal() -> None:
        ctx.signal(replica, startup, "CONT")
        with ctx.primary() as primary:
            primary.execute("drop table if exists roadie_provoke_lag")

    causes = (series(f"{replica} behind the primary", {"host": replica}, above=REPLICATION_LAG_BYTES),)
    facts = {"replica": replica, "stopped pid": str(startup)}
    return Injected([Expect("PostgresReplicationLagHigh", {"host": replica}, causes)], heal, facts)


@provocation(
    name="synchronous-mode-off",
    summary="Patroni's dynamic configuration switches synchronous_mode off; heal: restore it",
    tier="postgres-cluster",
    alerts=("PatroniNoSyncStandby",),
)
def synchronous_mode_off(ctx: Context) -> Injected:
    ctx.patroni_config({"synchronous_mode": False})
    causes = (line_with("synchronous mode is off in the cluster's configuration", '"synchronous_mode": false'),)
    return Injected(
        [Expect("PatroniNoSyncStandby", {}, causes)], lambda: ctx.patroni_config({"synchronous_mode": True})
    )


@provocation(
    name="replica-connections-exhausted",
    summary="idle superuser sessions take 85 % of a replica's max_connections; heal: close them",
    tier="postgres-cluster",
    alerts=("PostgresConnectionsHigh",),
)
def replica_connections_exhausted(ctx: Context) -> Injected:
    replica = next((m.name for m in ctx.cluster() if m.role == "replica"), None)
    if replica is None:
        raise RoadieError("the cluster has no asynchronous replica to fill with sessions")
    with ctx.member(replica) as probe:
        limit = int(probe.execute("show max_connections").fetchone()[0])
        used = int(probe.execute("select count(*) from pg_stat_activity").fetchone()[0])
    sessions: list[psycopg.Connection] = []

    def heal() -> None:
        for session in sessions:
            session.close()

    try:
        sessions += [ctx.member(replica) for _ in range(max(0, int(limit * CONNECTIONS_SHARE) - used))]
    except psycopg.OperationalError:
        heal()
        raise
    causes = (series(f"{len(sessions)} idle sessions on {replica}", {"host": replica, "datname": "postgres", "state":
                     "idle"}, above=limit * (CONNECTIONS_SHARE - ALERT_CONNECTIONS_SHARE)),)  # fmt: skip
    facts = {"replica": replica, "sessions": str(len(sessions)), "max_connections": str(limit)}
    return Injected([Expect("PostgresConnectionsHigh", {"host": replica}, causes)], heal, facts)


@provocation(
    name="etcd-quorum-lost",
    summary="etcd stops on two of the three database hosts (Patroni loses its DCS); heal: start them",
    tier="etcd",
    alerts=("EtcdInsufficientMembers", "EtcdNoLeader", "PatroniNoLeader"),
    exclusive=True,  # without a primary, every other PostgreSQL provocation would fail
    fire_within_s=120.0,  # the primary demotes itself only after Patroni's ttl without the DCS
    resolve_within_s=150.0,
)
def etcd_quorum_lost(ctx: Context) -> Injected:
    names = [h.name for h in ctx.lab.group("etcd")]
    survivor, stopped = names[0], names[1:]
    for host in stopped:
        ctx.stop(host, "etcd")

    def heal() -> None:
        for host in stopped:
            ctx.start(host, "etcd")
        # The next provocations and tests need a primary and a synchronous standby again.
        poll_until(lambda: {"leader", "sync_standby"} <= {m.role for m in ctx.cluster()}, 120,
                   "Patroni to elect a primary and a synchronous standby after etcd came back", interval=2)  # fmt: skip

    down = tuple(series(f"etcd on {h} is down", {"host": h, "job": "etcd"}, equal=0) for h in stopped)
    no_leader = (series(f"etcd on {survivor} sees no leader", {"host": survivor}, equal=0),)
    expects = [
        Expect("EtcdInsufficientMembers", {}, down),
        Expect("EtcdNoLeader", {"host": survivor}, no_leader, inhibited_by="EtcdInsufficientMembers"),
        Expect("PatroniNoLeader", {}, down),
    ]
    return Injected(expects, heal, {"stopped": ", ".join(stopped)})


@provocation(
    name="postgres-exporter-stopped",
    summary="the PostgreSQL exporter of the last database host stops; heal: start it",
    tier="exporters",
    alerts=("ScrapeTargetDown",),
)
def postgres_exporter_stopped(ctx: Context) -> Injected:
    host = ctx.lab.group("postgres")[-1].name
    ctx.stop(host, "postgres_exporter")
    causes = (line_matching(f"the postgres target of {host} is down", rf"^postgres {host} \S"),)
    return Injected(
        [Expect("ScrapeTargetDown", {"job": "postgres", "host": host}, causes)],
        lambda: ctx.start(host, "postgres_exporter"),
        {"host": host},
    )


@provocation(
    name="postgres-exporter-restarted",
    summary="benign: the PostgreSQL exporter of the last database host restarts",
    tier="exporters",
    alerts=(),
    silent=("ScrapeTargetDown",),
    hold_s=30.0,
)
def postgres_exporter_restarted(ctx: Context) -> Injected:
    host = ctx.lab.group("postgres")[-1].name
    ctx.stop(host, "postgres_exporter")
    ctx.start(host, "postgres_exporter")
    return Injected([], lambda: None, {"host": host}, silent_labels={"host": host, "job": "postgres"})


@provocation(
    name="pgbackrest-exporter-stopped",
    summary="the pgBackRest status exporter on the repository host stops; heal: start it",
    tier="backup",
    alerts=("PgBackRestStatusStale",),
    fire_within_s=120.0,  # the failed scrapes mark its series stale, then absent() holds
)
def pgbackrest_exporter_stopped(ctx: Context) -> Injected:
    host = ctx.lab.group("backup_repo")[0].name
    ctx.stop(host, "pgbackrest_exporter")
    causes = (series(f"the status exporter on {host} is down", {"host": host, "job": "pgbackrest"}, equal=0),)
    return Injected(
        [Expect("PgBackRestStatusStale", {}, causes)], lambda: ctx.start(host, "pgbackrest_exporter"), {"host": host}
    )


# Redis and Sentinel


@provocation(
    name="sentinel-minority",
    summary="the Sentinels of two of the three cache hosts stop; heal: start them",
    tier="sentinel",
    alerts=("SentinelQuorumLost",),
)
def sentinel_minority(ctx: Context) -> Injected:
    names = [h.name for h in ctx.lab.group("sentinel")]
    survivor, stopped = names[0], names[1:]
    for host in stopped:
        ctx.stop(host, "sentinel")

    def heal() -> None:
        for host in stopped:
            ctx.start(host, "sentinel")

    causes = tuple(
        series(f"the Sentinel on {h} does not answer", {"host": h, "job": "sentinel"}, equal=0) for h in stopped
    )
    return Injected([Expect("SentinelQuorumLost", {"host": survivor}, causes)], heal, {"stopped": ", ".join(stopped)})


@provocation(
    name="one-sentinel-stopped",
    summary="benign: one Sentinel of three stops (the other two still make the quorum)",
    tier="sentinel",
    alerts=(),
    silent=("SentinelQuorumLost",),
    hold_s=30.0,
)
def one_sentinel_stopped(ctx: Context) -> Injected:
    host = ctx.lab.group("sentinel")[-1].name
    ctx.stop(host, "sentinel")
    return Injected([], lambda: ctx.start(host, "sentinel"), {"host": host})


@provocation(
    name="redis-replica-maxmemory",
    summary="a Redis replica's maxmemory is set just under its used memory (replicas ignore it); heal: restore it",
    tier="redis",
    alerts=("RedisMemoryHigh",),
)
def redis_replica_maxmemory(ctx: Context) -> Injected:
    replicas = ctx.redis_replicas()
    if not replicas:
        raise RoadieError("no Redis replica to provoke")
    host = replicas[-1]
    node = ctx.redis_node(host)
    original = node.config_get("maxmemory")["maxmemory"]
    used = int(node.info("memory")["used_memory"])
    # Below the memory used (a replica ignores maxmemory: nothing is evicted), with room: an
    # idle replica's usage moves by more than 5 % when a TLS client connects or leaves (its
    # buffers), and the alert, at 90 %, must not clear for that (it did at used / 0.95).
    node.config_set("maxmemory", int(used * 0.8))

    def heal() -> None:
        ctx.redis_node(host).config_set("maxmemory", original)

    causes = (series(f"{host} near its maxmemory", {"host": host, "job": "redis"}, above=0.9),)
    return Injected([Expect("RedisMemoryHigh", {"host": host}, causes)], heal, {"host": host})


@provocation(
    name="redis-replica-link-cut",
    summary="a Redis replica gets a wrong masterauth and loses its master link; heal: restore it",
    tier="redis",
    alerts=("RedisReplicaLinkDown",),
)
def redis_replica_link_cut(ctx: Context) -> Injected:
    replicas = ctx.redis_replicas()
    if not replicas:
        raise RoadieError("no Redis replica to cut from its master")
    host = replicas[0]
    node = ctx.redis_node(host)
    original = node.config_get("masterauth")["masterauth"]
    node.config_set("masterauth", "roadie-provoke-wrong-password")
    node.client_kill_filter(_type="master")

    def heal() -> None:
        ctx.redis_node(host).config_set("masterauth", original)
        poll_until(lambda: ctx.redis_node(host).info("replication").get("master_link_status") == "up", 60,
                   f"{host} to reconnect to its master", interval=1)  # fmt: skip

    causes = (series(f"the master link of {host} is down", {"host": host}, equal=0),)
    return Injected([Expect("RedisReplicaLinkDown", {"host": host}, causes)], heal, {"host": host})


# Suppliers (the lab's supplier simulator, searched through the app nodes)

SUPPLIER = "flaky"  # the simulator's supplier whose outage modes drills and provocations switch


@provocation(
    name="supplier-errors",
    summary=f"supplier '{SUPPLIER}' answers every search with an error under a bounded search load; heal: restore it",
    tier="suppliers",
    alerts=("SupplierBreakerOpen",),
    resolve_within_s=150.0,  # the breaker is probed closed after its (lab-scaled) open time
)
def supplier_errors(ctx: Context) -> Injected:
    return _supplier_outage(ctx, {"error_rate": 1.0}, "SupplierBreakerOpen",
                            series(f"the breaker of {SUPPLIER} is open", {"supplier": SUPPLIER}, equal=1))  # fmt: skip


@provocation(
    name="supplier-all-unavailable",
    summary=f"supplier '{SUPPLIER}' answers every search 'unavailable' under a bounded search load; heal: restore it",
    tier="suppliers",
    alerts=("SupplierAllUnavailable",),
    resolve_within_s=150.0,
)
def supplier_all_unavailable(ctx: Context) -> Injected:
    cause = series(f"the breaker of {SUPPLIER} tripped on all-unavailable answers", {"supplier": SUPPLIER}, equal=1)
    return _supplier_outage(ctx, {"all_unavailable": True}, "SupplierAllUnavailable", cause)


def _supplier_outage(ctx: Context, modes: dict[str, object], alert: str, cause: Cause) -> Injected:
    simulator = ctx.suppliers()
    original = simulator.modes(SUPPLIER)
    simulator.set_modes(SUPPLIER, modes)
    load = ctx.search_load(SUPPLIER)

    def heal() -> None:
        load.stop()
        simulator.set_modes(SUPPLIER, {k: original[k] for k in modes})
        ctx.search_until_breaker_closed(SUPPLIER)

    return Injected(
        [Expect(alert, {"supplier": SUPPLIER}, (cause,))],
        heal,
        {"supplier": SUPPLIER, **{k: str(v) for k, v in modes.items()}},
    )


@provocation(
    name="load-balancer-stopped",
    summary="the app's load balancer stops (the blackbox probe fails); heal: start it",
    tier="lb",
    alerts=("LoadBalancerProbeFailed",),
)
def load_balancer_stopped(ctx: Context) -> Injected:
    host = ctx.lab.group("lb")[0].name
    ctx.stop(host, "loadbalancer")
    causes = (
        line_with("the load balancer does not answer", "000 in"),
        series(f"the probe of {host} fails", {"host": host, "job": "blackbox_lb"}, equal=0),
    )
    return Injected(
        [Expect("LoadBalancerProbeFailed", {}, causes)], lambda: ctx.start(host, "loadbalancer"), {"host": host}
    )


# Ticket sales and the booking events


@provocation(
    name="bookings-all-refused",
    summary="buyers keep booking a seat that does not exist (every attempt refused, nothing sold); heal: they stop",
    tier="tickets",
    alerts=("TicketSalesStalled",),
    fire_within_s=360.0,  # rate(...[5m]) == 0: no sale may be in the last 5 minutes (earlier tests sold)
    resolve_within_s=330.0,  # and the refused attempts leave the 5-minute window
)
def bookings_all_refused(ctx: Context) -> Injected:
    load = RefusedBookings(ctx.app_urls(), ApiCredentials.for_lab(ctx.lab))

    def heal() -> None:
        statuses = load.stop()
        if any(200 <= status < 300 for status in statuses):
            raise RoadieError(f"a booking of a seat that does not exist was accepted: {statuses}")

    causes = (series("bookings refused (rejected)", {"outcome": "rejected"}, above=0),)
    return Injected([Expect("TicketSalesStalled", {}, causes)], heal, {"event": str(load.event_id)})


@provocation(
    name="booking-consumers-stopped",
    summary="every app node's booking-events consumer stops and 1,100 markers wait in its queue; heal: start them",
    tier="rabbitmq",
    alerts=("RabbitMQNoConsumers", "RabbitMQQueueBacklog"),
)
def booking_consumers_stopped(ctx: Context) -> Injected:
    names = [h.name for h in ctx.lab.group("app")]
    queue = ctx.counters_queue()
    for host in names:
        ctx.stop(host, "app_worker")

    def heal() -> None:
        for host in names:
            ctx.start(host, "app_worker")

    try:
        ctx.publish_markers(queue, BACKLOG_MARKERS)
    except Exception:
        heal()
        raise
    ready = series(f"{BACKLOG_MARKERS} messages ready in {queue}",
                   {"__name__": "rabbitmq_detailed_queue_messages_ready", "queue": queue}, above=1000)  # fmt: skip
    idle = series(f"no consumer on {queue}", {"__name__": "rabbitmq_detailed_queue_consumers", "queue": queue}, equal=0)
    expects = [
        Expect("RabbitMQNoConsumers", {"queue": queue}, (ready, idle)),
        Expect("RabbitMQQueueBacklog", {"queue": queue}, (ready,)),
    ]
    return Injected(expects, heal, {"queue": queue, "stopped on": ", ".join(names)})


# The app


@provocation(
    name="app-node-stopped",
    summary="the app's web server on the last app host stops; heal: start it",
    tier="app",
    alerts=("AppInstanceDown",),
)
def app_node_stopped(ctx: Context) -> Injected:
    host = ctx.lab.group("app")[-1].name
    ctx.stop(host, "app")
    causes = (series(f"the app on {host} is down", {"host": host, "job": "app"}, equal=0),)
    return Injected([Expect("AppInstanceDown", {"host": host}, causes)], lambda: ctx.start(host, "app"), {"host": host})


@provocation(
    name="app-node-restarted",
    summary="benign: the app's web server on the last app host restarts (a rolling deploy)",
    tier="app",
    alerts=(),
    silent=("AppInstanceDown",),
    hold_s=30.0,
)
def app_node_restarted(ctx: Context) -> Injected:
    host = ctx.lab.group("app")[-1].name
    ctx.stop(host, "app")
    ctx.start(host, "app")
    return Injected([], lambda: None, {"host": host}, silent_labels={"host": host})


def provoked_alerts() -> set[str]:
    return {a for p in CATALOG for a in p.alerts}


def silent_alerts() -> set[str]:
    return {a for p in CATALOG for a in p.silent}
