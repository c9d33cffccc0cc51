"""Run one drill end to end: steady state, probes and watchers, fault, recovery, heal,
checks, report."""

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import psycopg
import redis

from roadie.console import console
from roadie.drills import cluster, tickets
from roadie.drills.alerts import drill_alerts
from roadie.drills.analysis import (
    by_probe,
    first_change,
    first_departure,
    max_writable_primaries,
    seconds_after,
    summarize_probe,
)
from roadie.drills.base import Drill, DrillContext
from roadie.drills.endpoints import discover
from roadie.drills.probes import PROBE_TABLE, AmqpPublishProbe, PgWriteProbe, RedisWriteProbe, new_run_id
from roadie.drills.records import Journal
from roadie.drills.report import write_report
from roadie.drills.watch import FENCE_TABLE
from roadie.lab.inventory import Lab
from roadie.lab.secrets import load_secrets

BASELINE_S = 3.0
MAX_RECOVERY_S = 90.0
SETTLE_S = 4.0
HEAL_TIMEOUT_S = 120.0
HARD_LIMIT_S = 300.0


def run(drill: Drill, lab: Lab, reports: Path) -> dict[str, Any]:
    # Broken connections are the point of a drill; psycopg's warnings about them are noise.
    logging.getLogger("psycopg").setLevel(logging.ERROR)
    secrets = load_secrets(lab.secrets_file)
    ctx = DrillContext(lab, discover(lab), secrets, Journal(), new_run_id())
    with console.status(f"[{drill.name}] waiting for a healthy cluster") as status:
        cluster.wait_for(lambda: drill.healthy(ctx), 120, "a healthy cluster before the drill")
        create_probe_tables(ctx)
        if ctx.endpoints.app_lb:
            ctx.stash["event"], ctx.stash["seats"] = tickets.create_event(ctx.endpoints.app_lb)
        status.update(f"[{drill.name}] preparing")
        drill.prepare(ctx)
        status.update(f"[{drill.name}] probing, injecting the fault, waiting for recovery")
        started = time.time()
        probes, fault_at = asyncio.run(_observe(drill, ctx, status))
        status.update(f"[{drill.name}] healing {', '.join(ctx.target)}")
        drill.heal(ctx)
        heal_s = cluster.wait_for(lambda: drill.healthy(ctx), HEAL_TIMEOUT_S, "the cluster to heal")
        status.update(f"[{drill.name}] checking")
        lost = lost_writes(ctx, probes)
        ctx.stash["bookings"] = _booking_checks(ctx, probes)
        result = _result(drill, ctx=ctx, started=started, fault_at=fault_at, heal_s=heal_s, lost=lost)
        result["alerts"] = drill_alerts(lab, started, time.time(), fault_at)
    directory = reports / f"{drill.name}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime(started))}"
    write_report(directory, result, ctx.journal)
    result["report"] = str(directory)
    return result


async def _observe(drill: Drill, ctx: DrillContext, status: Any) -> tuple[list, float]:
    stop_probes, stop_watchers = asyncio.Event(), asyncio.Event()
    probes = drill.probes(ctx)
    watchers = drill.watchers(ctx)
    deadline = time.time() + HARD_LIMIT_S
    tasks = [asyncio.create_task(p.run(stop_probes, deadline)) for p in probes]
    tasks += [asyncio.create_task(w.run(stop_watchers)) for w in watchers]
    await asyncio.sleep(BASELINE_S)
    fault_at = await asyncio.to_thread(drill.inject, ctx)
    ctx.journal.event("drill", "fault", at=fault_at, hosts=list(ctx.target))
    status.update(f"[{drill.name}] fault on {', '.join(ctx.target)}; waiting for recovery")
    waited = time.monotonic()
    while time.monotonic() - waited < MAX_RECOVERY_S:
        if await asyncio.to_thread(drill.recovered, ctx, fault_at):
            ctx.journal.event("drill", "recovered")
            break
        await asyncio.sleep(0.25)
    else:
        ctx.journal.event("drill", "not recovered", waited_s=MAX_RECOVERY_S)
    # A fixed observation window after recovery: late errors or a second leader show here.
    await asyncio.sleep(SETTLE_S)
    stop_probes.set()
    stop_watchers.set()
    await asyncio.gather(*tasks)
    return probes, fault_at


def create_probe_tables(ctx: DrillContext) -> None:
    with psycopg.connect(ctx.pg("primary").conninfo(), autocommit=True) as conn:
        conn.execute(
            f"create table if not exists {PROBE_TABLE} "
            "(run_id text not null, key text primary key, at timestamptz not null default now())"
        )
        conn.execute(
            f"create table if not exists {FENCE_TABLE} (member text not null, at timestamptz not null default now())"
        )


def lost_writes(ctx: DrillContext, probes: list) -> dict[str, int]:
    """Acknowledged writes that the healed cluster no longer has."""
    lost: dict[str, int] = {}
    for probe in probes:
        if isinstance(probe, PgWriteProbe):
            with psycopg.connect(ctx.pg("primary").conninfo()) as conn:
                rows = conn.execute(
                    f"select key from {PROBE_TABLE} where run_id = %s",
                    (ctx.run_id,),
                ).fetchall()
            present = {r[0] for r in rows}
            lost[probe.name] = sum(1 for k in probe.acked if f"{ctx.run_id}:{k}" not in present)
        elif isinstance(probe, RedisWriteProbe):
            lost[probe.name] = _lost_redis_keys(ctx, probe)
        elif isinstance(probe, AmqpPublishProbe):
            lost[probe.name] = _lost_messages(probe)
    return lost


def _lost_redis_keys(ctx: DrillContext, probe: RedisWriteProbe) -> int:
    master = cluster.redis_master(ctx.endpoints, ctx.secrets)
    address, port = ctx.endpoints.redis_members[master or ""]
    client = redis.Redis(host=address, port=port, username="app", password=ctx.secrets["redis_app"])
    keys = [f"drill:{ctx.run_id}:{k}" for k in probe.acked]
    found = 0
    for start in range(0, len(keys), 500):
        found += sum(1 for v in client.mget(keys[start : start + 500]) if v is not None)
    return len(keys) - found


def _booking_checks(ctx: DrillContext, probes: list) -> dict[str, int] | None:
    buyers = [p for p in probes if isinstance(p, tickets.BookingProbe)]
    if not buyers:
        return None
    confirmed = [booking for buyer in buyers for booking in buyer.bookings]
    ctx.stash["booking_race"] = {
        "bookings confirmed": len(confirmed),
        "booking conflicts (409)": sum(buyer.conflicts for buyer in buyers),
    }
    return tickets.check_bookings(ctx.pg("primary"), tickets.shard_databases(ctx.lab), confirmed)


def _lost_messages(probe: AmqpPublishProbe) -> int:
    """Drain the drill's queue and count confirmed messages that are not in it."""
    channel = probe.connect()
    seen = set()
    while True:
        method, _, body = channel.basic_get(probe.queue, auto_ack=True)  # type: ignore[attr-defined]
        if method is None:
            break
        seen.add(body.decode())
    channel.queue_delete(probe.queue)  # type: ignore[attr-defined]
    return sum(1 for key in probe.acked if key not in seen)


def _result(
    drill: Drill, *, ctx: DrillContext, started: float, fault_at: float, heal_s: float, lost: dict[str, int]
) -> dict[str, Any]:
    summaries = {name: summarize_probe(reqs, fault_at) for name, reqs in by_probe(ctx.journal).items()}
    journal = ctx.journal
    detection = {
        "haproxy noticed": seconds_after(first_departure(journal, "haproxy", "up", fault_at), fault_at),
        "patroni noticed": seconds_after(first_departure(journal, "patroni", "leader", fault_at), fault_at),
        "sentinel noticed": seconds_after(first_departure(journal, "sentinel", "master", fault_at), fault_at),
        "app load balancer noticed": seconds_after(first_departure(journal, "app-lb", "up", fault_at), fault_at),
    }
    failover = {
        "patroni new leader": seconds_after(first_change(journal, "patroni", "leader", fault_at), fault_at),
        "haproxy routes to new primary": seconds_after(first_change(journal, "haproxy", "up", fault_at), fault_at),
        "sentinel new master": seconds_after(first_change(journal, "sentinel", "master", fault_at), fault_at),
    }
    writes_back = _worst(s.back_after_fault_s for s in summaries.values() if s.kind == "write")
    reads_back = _worst(s.back_after_fault_s for s in summaries.values() if s.kind == "read")
    measured = {
        "writes back after fault": writes_back,
        "reads back after fault": reads_back,
        "write gap": _worst(s.outage_s for s in summaries.values() if s.kind == "write"),
        "longest read outage": _worst(s.outage_s for s in summaries.values() if s.kind == "read"),
        "acknowledged writes lost": sum(lost.values()),
        "app client errors": sum(s.errors for s in summaries.values() if s.probe.startswith(("buyer", "app-"))),
    }
    writable = max_writable_primaries(ctx.journal)
    checks = [
        {
            "name": g.name,
            "value": measured.get(g.name),
            "goal": f"<= {g.limit:g} {g.unit}",
            "met": None if measured.get(g.name) is None else measured[g.name] <= g.limit,
        }
        for g in drill.goals
    ]
    checks.append({"name": "most writable primaries at once", "value": writable, "goal": "<= 1", "met": writable <= 1})
    checks.append(
        {
            "name": "acknowledged writes lost (all probes)",
            "value": lost,
            "goal": f"<= {drill.max_lost_writes}",
            "met": sum(lost.values()) <= drill.max_lost_writes,
        }
    )
    bookings = ctx.stash.get("bookings")
    if bookings is not None:
        measured.update(bookings)
        measured.update(ctx.stash["booking_race"])
        for name, value in bookings.items():
            checks.append({"name": name, "value": value, "goal": "= 0", "met": value == 0})
    extra = drill.post_checks(ctx, fault_at)
    checks += extra
    invariants_ok = (
        writable <= 1
        and sum(lost.values()) <= drill.max_lost_writes
        and all(c["met"] for c in extra)
        and not any((bookings or {}).values())
    )
    return {
        "drill": drill.name,
        "description": drill.description,
        "run_id": ctx.run_id,
        "started": started,
        "fault_at": fault_at,
        "fault": f"{drill.name} on {', '.join(ctx.target)}",
        "target": ctx.target,
        "detection_s": detection,
        "failover_s": failover,
        "measured": measured,
        "heal_s": round(heal_s, 1),
        "checks": checks,
        "invariants_ok": invariants_ok,
        "passed": invariants_ok and all(c["met"] is not False for c in checks),
        "probes": [s.as_dict() for s in summaries.values()],
        "timeline": _timeline(ctx, fault_at),
        "markers": _markers(ctx, fault_at),
    }


def _worst(values: Any) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) if known else 0.0


def _timeline(ctx: DrillContext, fault_at: float) -> list[dict[str, Any]]:
    return [
        {"t": round(e.at - fault_at, 2), "source": e.source, "what": e.what, "value": e.detail.get("value", e.detail)}
        for e in sorted(ctx.journal.events, key=lambda e: e.at)
        if e.at >= fault_at - BASELINE_S
    ]


def _markers(ctx: DrillContext, fault_at: float) -> list[dict[str, Any]]:
    markers = []
    for source, what, label, color in (
        ("patroni", "leader", "new Patroni leader", "green"),
        ("sentinel", "master", "new Redis master", "purple"),
    ):
        event = first_change(ctx.journal, source, what, fault_at)
        if event is not None:
            markers.append({"t": event.at - fault_at, "label": label, "color": color})
    recovered = ctx.journal.first_event("drill", "recovered", after=fault_at)
    if recovered is not None:
        markers.append({"t": recovered.at - fault_at, "label": "recovered", "color": "black"})
    return markers
