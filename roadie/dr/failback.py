"""`roadie drill dr-failback`: after a region failover, rebuild region 1 as the standby
cluster of region 2, then switch back with the write workload running.

    rebuild: region 1 (powered on, fenced) becomes a standby cluster of region 2 -- its
             members are stopped, their data and cluster state (but not the configuration
             with standby_cluster) removed, and Patroni clones them again from region 2
    switch:  unfence region 1 (no member of it can take writes) -> demote region 2 to a
             standby cluster of region 1 (writes stop) -> wait until region 1 has replayed
             everything -> promote region 1 -> point DNS at region 1 -> stop the DR app tier
"""

import time
from pathlib import Path
from typing import Any

from roadie.backup.hostexec import on_host
from roadie.dr import cluster, fence, steps
from roadie.dr.probe import DnsWriteProbe, lost_keys
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
from roadie.dr.topology import Member, Region
from roadie.errors import RoadieError
from roadie.lab import hosts
from roadie.lab.inventory import Lab
from roadie.services import etcd, patroni, registry

NAME = "dr-failback"
DESCRIPTION = (
    "Planned switch back to region 1 after a region failover: region 1 rebuilt as the standby cluster "
    "of region 2, then region 2 demoted, region 1 promoted and the DNS records flipped back."
)
ETCDCTL = "/usr/bin/etcdctl"
# etcdctl takes every flag from ETCDCTL_<FLAG> too: the credential is read from stdin into
# ETCDCTL_USER on the host, so that sudo's log of the command line never holds the password.
_USER_FROM_STDIN = 'IFS= read -r ETCDCTL_USER && export ETCDCTL_USER && exec "$@"'


def rebuild_region1(run: DrRun) -> None:
    r1, r2 = run.topology.region(1), run.topology.region(2)
    assert r2.pg_lb is not None
    if run.dns.active_region() != 2 or not cluster.writable_members(r2):
        raise RoadieError("region 2 is not the active primary region: run 'dr-failover' first")
    steps.power_on_region(run.lab, r1)
    if not fence.is_fenced(1):
        fence.fence(1, r1.host_names)
    # A rebuild that was interrupted after stopping Patroni resumes from here.
    steps.start_patroni(run.lab, r1)
    via = r1.members[0].host
    started = run.mark("rebuild of region 1 started")
    steps.wait_for(lambda: cluster.members(r1, via), 120, "region 1's Patroni to answer")
    # Stream from region 2's leader itself, not through its HAProxy: when region 2 is demoted
    # for the switch back, its last WAL (the shutdown checkpoint) still reaches region 1 by
    # cascading replication, so region 1 catches up at once.
    source = _leader_member(r2)
    cluster.demote(r1, source.address, source.pg_port)
    steps.wait_for(lambda: not cluster.writable_members(r1, via), 90, "region 1 to have no writable primary")
    steps.stop_patroni(run.lab, r1)
    _reset_cluster_state(run, r1)
    for member in r1.members:
        on_host(member.host, ["rm", "-rf", "--one-file-system", str(member.data_dir)])
    steps.start_patroni(run.lab, r1)
    steps.wait_standby_cluster(r1, via, 600)
    run.mark("region 1 is a standby cluster of region 2")
    run.facts["rebuild of region 1 as standby (s)"] = round(time.time() - started, 1)


def _leader_member(region: Region) -> Member:
    leaders = set(patroni.leaders(cluster.members(region)))
    for member in region.members:
        if member.host in leaders:
            return member
    raise RoadieError(f"region {region.number} has no leader to replicate from")


def _reset_cluster_state(run: DrRun, region: Region) -> None:
    """Remove the cluster's keys from region 1's etcd except its configuration (which now
    holds standby_cluster), so the next Patroni start bootstraps a standby leader."""
    member = region.members[0]
    scope = _scope(on_host(member.host, ["cat", str(member.config)]).stdout, member.config)
    etcd_members = [registry.service(run.lab.host(m.host), "etcd") for m in region.members]
    # etcd serves HTTPS: etcdctl verifies it against the CA as installed on the host it runs on.
    flags = [f"--endpoints={','.join(etcd.client_urls(etcd_members))}", f"--cacert={etcd_members[0].path('ca_file')}"]

    def etcdctl(*args: str) -> str:
        argv = ["sh", "-c", _USER_FROM_STDIN, "etcdctl", ETCDCTL, *flags, "--dial-timeout=3s"]
        credential = f"root:{run.secrets['etcd_root']}\n"
        return on_host(member.host, [*argv, *args], env={"ETCDCTL_API": "3"}, stdin=credential).stdout

    config = etcdctl("get", "--print-value-only", f"/service/{scope}/config")
    if not config.strip():
        raise RoadieError(f"region 1's etcd has no configuration for cluster {scope}")
    etcdctl("del", "--prefix", f"/service/{scope}/")
    etcdctl("put", f"/service/{scope}/config", config.strip())


def _scope(text: str, config: Path) -> str:
    """The Patroni scope of a member's configuration (`text`, read on its host from `config`)."""
    for line in text.splitlines():
        if line.startswith("scope:"):
            return line.split(":", 1)[1].strip()
    raise RoadieError(f"{config} names no Patroni scope")


def switch_back(run: DrRun) -> None:
    r1, r2 = run.topology.region(1), run.topology.region(2)
    assert r1.pg_lb is not None
    via = r1.members[0].host
    if cluster.writable_members(r1, via):
        raise RoadieError("a region 1 member is writable: refusing to unfence")
    fence.unfence(1)
    run.mark("region 1 unfenced")
    cluster.demote(r2, *r1.pg_lb)
    run.mark("fault")  # writes stop here: the planned part of the failback starts
    steps.wait_for(lambda: not cluster.writable_members(r2), 60, "region 2 to stop taking writes")
    run.mark("region 2 demoted")
    steps.wait_for(lambda: _caught_up(r1, r2), 120, "region 1 to replay everything region 2 wrote")
    run.mark("region 1 caught up")
    cluster.promote(r1)
    password = run.secrets["postgres_app"]
    run.mark(
        "region 1 primary", steps.wait_for(lambda: steps.accepts_writes(*r1.pg_lb, password), 120, "a region-1 primary")
    )
    run.dns.point_to(1)
    run.mark("DNS points to region 1")
    for host, program in dr_app_programs(run, 2):
        hosts.systemctl(run.lab.host(host), "stop", program)


def _caught_up(r1: Region, r2: Region) -> bool:
    primary, standby = cluster.replay_lsn(r2), cluster.replay_lsn(r1)
    return primary is not None and standby is not None and standby >= primary


def run_drill(lab: Lab, reports: Path) -> dict[str, Any]:
    run = new_run(NAME, lab)
    rebuild_region1(run)
    ensure_probe_table(run, 2)
    probe = with_probe(run, switch_back, "fault")
    steps.wait_standby_cluster(run.topology.region(2), None, 300)
    run.mark("region 2 is a standby cluster of region 1 again")
    lost = lost_keys(probe, present_keys(run, 1))
    data = _result(run, probe, lost)
    write(run, data, reports)
    return data


def _result(run: DrRun, probe: DnsWriteProbe, lost: list[str]) -> dict[str, Any]:
    gap = run.since("fault", "writes back")
    measured = {
        "write gap of the switch back (s)": gap,
        "acknowledged writes lost": len(lost),
        "acknowledged writes": len(probe.acked),
        "rebuild of region 1 as standby (s)": run.facts.get("rebuild of region 1 as standby (s)"),
    }
    checks = [
        check("acknowledged writes lost", len(lost), "0 (planned switch)", not lost),
        check("DNS points to region 1", run.dns.active_region(), "1", run.dns.active_region() == 1),
        check("region 1 fence lifted", not fence.is_fenced(1), "yes", not fence.is_fenced(1)),
        check("write gap (s)", gap, "reported", None),
    ]
    return result(run, probe, fault="fault", description=DESCRIPTION, checks=checks, measured=measured)
