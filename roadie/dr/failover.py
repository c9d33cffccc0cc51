"""`roadie drill dr-failover`: lose the whole primary region under a write workload and
run the DR procedure, measuring RTO and RPO.

    crash every host of region 1 -> declare it lost (3 failed checks) -> fence it ->
    promote the region-2 standby cluster -> point DNS at region 2 -> start the DR app tier
    -> writes (resolved through DNS) succeed again

Then the split-brain guard: region 1 is powered on again; it is fenced, DNS no longer
names it, and its cluster is demoted to a standby cluster of region 2 at once: a client
write to it is refused and none of its members is a writable primary.
"""

import time
from pathlib import Path
from typing import Any

from roadie.dr import cluster, fence, steps
from roadie.dr.probe import DnsWriteProbe, lost_keys, rpo_seconds
from roadie.dr.run import (
    DrRun,
    check,
    dr_app_programs,
    ensure_probe_table,
    new_run,
    present_keys,
    result,
    with_probe,
    write,
)
from roadie.errors import RoadieError
from roadie.lab import hosts
from roadie.lab.inventory import Lab

NAME = "dr-failover"
DESCRIPTION = (
    "Whole primary region lost (every host of region 1 powered off at once): fence it, promote the "
    "region-2 Patroni standby cluster, flip the Route53 failover records, start the DR app tier."
)
RTO_GOAL_S = 60.0
RPO_GOAL_S = 1.0
# Region 1 is watched for at least this long and this many client writes (each attempt also
# asks region 1's members over SSH, about 2 s on the lab's two cores), at most GUARD_MAX_S.
GUARD_OBSERVE_S = 10.0
GUARD_MIN_ATTEMPTS = 8
GUARD_MAX_S = 60.0


def preflight(run: DrRun) -> None:
    r1, r2 = run.topology.region(1), run.topology.region(2)
    if fence.is_fenced(1) or run.dns.active_region() != 1:
        raise RoadieError("region 1 is not the active region (fenced or DNS elsewhere): run 'dr-failback' first")
    if cluster.leader_role(r1) != "leader":
        raise RoadieError("region 1 has no Patroni leader")
    steps.wait_standby_cluster(r2, None, 120)
    ensure_probe_table(run, 1)


def scenario(run: DrRun) -> None:
    r1, r2 = run.topology.region(1), run.topology.region(2)
    run.facts["region 2 lag before the fault (bytes)"] = _lag(run)
    run.mark("fault", steps.crash_region(run.lab, r1), hosts=r1.host_names)
    run.mark("region 1 declared lost", steps.detect_region_loss(r1))
    fence.fence(1, r1.host_names)
    run.mark("region 1 fenced")
    cluster.promote(r2)
    run.mark("promotion requested")
    assert r2.pg_lb is not None
    password = run.secrets["postgres_app"]
    run.mark(
        "region 2 primary", steps.wait_for(lambda: steps.accepts_writes(*r2.pg_lb, password), 300, "a region-2 primary")
    )
    run.dns.point_to(2)
    run.mark("DNS points to region 2")
    start_app_tier(run)


def start_app_tier(run: DrRun) -> None:
    """Start the DR region's app nodes (installed stopped) and wait until the load balancer that
    DNS now names for the app serves from the region-2 database."""
    programs = dr_app_programs(run, 2)
    if not programs:
        raise RoadieError("region 2 has no app tier installed: run playbooks/dr.yml (the app_dr and lb_dr plays)")
    by_host: dict[str, list[str]] = {}
    for host, program in programs:
        by_host.setdefault(host, []).append(program)
    for host, names in by_host.items():  # one call per host: its systemd starts them together
        hosts.systemctl(run.lab.host(host), "start", *names)
    run.mark("DR app tier started")
    app_lb = run.topology.region(2).app_lb
    if app_lb is None:
        raise RoadieError("region 2 has no app load balancer: run playbooks/dr.yml (the lb_dr play)")
    url = f"https://{run.dns.resolve('app')}:{app_lb[1]}"
    run.mark("app serving in region 2", steps.wait_for(lambda: steps.app_serves(url), 120, f"the DR app at {url}"))
    run.facts["DR app tier"] = ", ".join(f"{h}:{p}" for h, p in programs)
    run.facts["DR app URL (DNS name app)"] = url


def split_brain_guard(run: DrRun) -> dict[str, Any]:
    """Power region 1 back on and show that it takes no writes."""
    r1, r2 = run.topology.region(1), run.topology.region(2)
    assert r2.pg_lb is not None and r1.pg_lb is not None
    via = r1.members[0].host
    run.mark("region 1 powered on again", steps.power_on_region(run.lab, r1))
    steps.wait_for(lambda: cluster.members(r1, via), 120, "region 1's Patroni to answer (inside the fence)")
    seen_writable = cluster.writable_members(r1, via)
    cluster.demote(r1, *r2.pg_lb)
    run.mark("region 1 demoted to a standby cluster of region 2")
    steps.wait_for(lambda: not cluster.writable_members(r1, via), 90, "region 1 to have no writable primary")
    run.mark("region 1 has no writable primary")
    accepted, attempts, writable_after = 0, 0, 0
    last_error = ""
    started = time.monotonic()

    def watching() -> bool:
        elapsed = time.monotonic() - started
        return elapsed < GUARD_MAX_S and (elapsed < GUARD_OBSERVE_S or attempts < GUARD_MIN_ATTEMPTS)

    while watching():
        refused, how = steps.client_write_refused(*r1.pg_lb, run.secrets["postgres_app"])
        attempts += 1
        accepted += 0 if refused else 1
        last_error = how
        writable_after = max(writable_after, len(cluster.writable_members(r1, via)))
        time.sleep(0.5)
    return {
        "client writes to region 1 attempted": attempts,
        "client writes to region 1 accepted": accepted,
        "how region 1 refused": last_error,
        "region 1 writable members after demotion (max)": writable_after,
        "region 1 writable members seen inside the fence before demotion": seen_writable,
        "DNS db answer after region 1 returned": run.dns.resolve("db"),
    }


def run_drill(lab: Lab, reports: Path) -> dict[str, Any]:
    run = new_run(NAME, lab)
    preflight(run)
    probe = with_probe(run, scenario, "fault")
    lost = lost_keys(probe, present_keys(run, 2))
    guard = split_brain_guard(run)
    run.facts.update(guard)
    data = _result(run, probe, lost, guard)
    write(run, data, reports)
    return data


def _lag(run: DrRun) -> int | None:
    primary = cluster.replay_lsn(run.topology.region(1))
    standby = cluster.replay_lsn(run.topology.region(2))
    return None if primary is None or standby is None else max(0, primary - standby)


def _result(run: DrRun, probe: DnsWriteProbe, lost: list[str], guard: dict[str, Any]) -> dict[str, Any]:
    fault_at = run.marks["fault"]
    rto = run.since("fault", "writes back")
    rpo = rpo_seconds(probe, lost, fault_at)
    measured = {
        "RTO: writes back after the region loss (s)": rto,
        "RPO: acknowledged writes lost": len(lost),
        "RPO: window of acknowledged writes lost (s)": rpo,
        "acknowledged writes": len(probe.acked),
        "detection (s)": run.since("fault", "region 1 declared lost"),
        "fence (s)": run.since("region 1 declared lost", "region 1 fenced"),
        "promotion (s)": run.since("promotion requested", "region 2 primary"),
        "DNS flip (s)": run.since("region 2 primary", "DNS points to region 2"),
        "app RTO: the app serves in region 2 after the region loss (s)": run.since("fault", "app serving in region 2"),
    }
    checks = [
        check("RTO (s)", rto, f"<= {RTO_GOAL_S:g} s (design: 15 min)", None if rto is None else rto <= RTO_GOAL_S),
        check("RPO window (s)", rpo, f"<= {RPO_GOAL_S:g} s of writes", rpo <= RPO_GOAL_S),
        check("standby cluster promoted", "region 2 primary" in run.marks, "yes", "region 2 primary" in run.marks),
        check("DNS points to region 2", run.dns.active_region(), "2", run.dns.active_region() == 2),
        check(
            "DR app tier serves",
            "app serving in region 2" in run.marks,
            "yes",
            "app serving in region 2" in run.marks,
        ),
        check(
            "old region takes no writes after it came back",
            guard["client writes to region 1 accepted"],
            "0 accepted",
            guard["client writes to region 1 accepted"] == 0
            and guard["region 1 writable members after demotion (max)"] == 0,
        ),
    ]
    return result(run, probe, fault="fault", description=DESCRIPTION, checks=checks, measured=measured)
