"""Run one drill end to end: steady state, probes and watchers, fault, recovery, heal,
checks, report."""

import asyncio
import logging
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psycopg

from roadie.apiauth import ApiCredentials
from roadie.checker.drill import DrillCheck, FinalReads, check_drill
from roadie.console import console
from roadie.drills import cluster, results, tickets
from roadie.drills.alerts import drill_alerts, watch_to_end
from roadie.drills.analysis import by_probe, first_change, first_departure, seconds_after, summarize_probe
from roadie.drills.base import Drill, DrillContext
from roadie.drills.endpoints import discover
from roadie.drills.finals import final_reads
from roadie.drills.probes import PROBE_TABLE, new_run_id
from roadie.drills.records import Journal
from roadie.drills.report import write_report
from roadie.drills.watch import FENCE_TABLE, WritablePrimariesWatcher
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
            api = ApiCredentials.for_lab(lab)
            ctx.stash["event"], ctx.stash["seats"] = tickets.create_event(ctx.endpoints.app_lb, api)
            ctx.stash["sessions"] = tickets.open_sessions(ctx.endpoints.app_lb, api)
            ctx.stash["booking_timeout"] = tickets.booking_timeout(tickets.app_config(lab))
        status.update(f"[{drill.name}] preparing")
        drill.prepare(ctx)
        status.update(f"[{drill.name}] probing, injecting the fault, waiting for recovery")
        started = time.time()
        probes, sampled, fault_at = asyncio.run(_observe(drill, ctx, status))
        status.update(f"[{drill.name}] healing {', '.join(ctx.target)}")
        drill.heal(ctx)
        heal_s = cluster.wait_for(lambda: drill.healthy(ctx), HEAL_TIMEOUT_S, "the cluster to heal")
        status.update(f"[{drill.name}] checking")
        check = _check(ctx, final_reads(ctx, probes), sampled, fault_at)
        _booking_race(ctx, probes)
        result = _result(drill, ctx=ctx, started=started, fault_at=fault_at, heal_s=heal_s, check=check)
        status.update(f"[{drill.name}] watching the alerts it set off until they resolve")
        result["alerts"] = drill_alerts(lab, started, watch_to_end(lab, started), fault_at)
    directory = reports / f"{drill.name}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime(started))}"
    write_report(directory, result, ctx.journal)
    result["report"] = str(directory)
    return result


async def _observe(drill: Drill, ctx: DrillContext, status: Any) -> tuple[list, bool, float]:
    """Run the probes and watchers around the fault; also says whether the writable-primaries
    sampler ran (without it, split brain is not measured)."""
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
    return probes, any(isinstance(w, WritablePrimariesWatcher) for w in watchers), fault_at


def create_probe_tables(ctx: DrillContext) -> None:
    with psycopg.connect(ctx.pg("primary").conninfo(), autocommit=True) as conn:
        conn.execute(
            f"create table if not exists {PROBE_TABLE} "
            "(run_id text not null, key text primary key, at timestamptz not null default now())"
        )
        conn.execute(
            f"create table if not exists {FENCE_TABLE} (member text not null, at timestamptz not null default now())"
        )


def _check(ctx: DrillContext, finals: FinalReads, sampled: bool, fault_at: float) -> DrillCheck:
    clock = ctx.journal.clock
    recovered = ctx.journal.first_event("drill", "recovered", after=fault_at)
    return check_drill(
        list(ctx.journal.history),
        list(ctx.journal.samples) if sampled else None,
        finals,
        fault_at=clock.to_monotonic(fault_at),
        recovered_at=None if recovered is None else clock.to_monotonic(recovered.at),
        waited_s=MAX_RECOVERY_S,
    )


def _booking_race(ctx: DrillContext, probes: list) -> None:
    """How the buyers' race went: many 409s show that they really raced."""
    buyers = [p for p in probes if isinstance(p, tickets.BookingProbe)]
    if buyers:
        ctx.stash["booking_race"] = {
            "bookings confirmed": sum(len(buyer.bookings) for buyer in buyers),
            "booking conflicts (409)": sum(buyer.conflicts for buyer in buyers),
        }


def _result(
    drill: Drill, *, ctx: DrillContext, started: float, fault_at: float, heal_s: float, check: DrillCheck
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
    recovered_s = seconds_after(journal.first_event("drill", "recovered", after=fault_at), fault_at)
    measured = results.measurements(summaries.values(), check, recovered_s)
    measured.update(ctx.stash.get("booking_race", {}))
    checks = results.checks(drill.goals, measured, check, recovered_s, MAX_RECOVERY_S)
    extra = drill.post_checks(ctx, fault_at)
    checks += extra
    invariants_ok = check.valid and all(c["met"] for c in extra)
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
        "recovered_s": recovered_s,
        "measured": measured,
        "heal_s": round(heal_s, 1),
        "checks": checks,
        "checker": {
            "valid": check.valid,
            "operations": results.operation_counts(check),
            "availability": [asdict(a) for a in check.availability],  # monotonic gap_from/gap_to
            "verdicts": [{**asdict(v), "valid": v.valid} for v in check.verdicts()],
        },
        "invariants_ok": invariants_ok,
        "passed": invariants_ok and all(c["met"] is not False for c in checks),
        "probes": [s.as_dict() for s in summaries.values()],
        "timeline": _timeline(ctx, fault_at),
        "markers": _markers(ctx, fault_at),
    }


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
