"""The Patroni clusters of both regions: their state, and the two changes a region
failover makes (promote a standby cluster, demote a cluster to a standby cluster).

Changes go through `patronictl edit-config`, run on one of the cluster's own hosts (inside
its cgroup), as an operator would over ssh: the fence of a lost region does not stop them.
"""

import json
from pathlib import Path

from roadie.backup.hostexec import on_host
from roadie.dr.topology import Member, Region
from roadie.errors import RoadieError
from roadie.services.patroni import LEADER_ROLES, ClusterMember, Getter, Patroni, http_getter

TIMEOUT = 1.0
# GET a URL from inside a lab host (its cgroup): how the operator sees a fenced region; the
# REST API's certificate is verified against the CA file the host has (argv[3]).
_FETCH = """
import json, ssl, sys, urllib.error, urllib.request
context = ssl.create_default_context(cafile=sys.argv[3])
try:
    with urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2]), context=context) as r:
        print(json.dumps([r.status, r.read().decode()]))
except urllib.error.HTTPError as e:
    print(json.dumps([e.code, e.read().decode()]))
except Exception as e:
    print(json.dumps([0, str(e)]))
"""


def host_getter(via: str, ca_file: Path) -> Getter:
    """GET from inside the lab host `via`, verifying against its `ca_file`: (status, body),
    status 0 when nothing answered."""

    def get(url: str) -> tuple[int, str]:
        argv = ["/usr/bin/python3", "-c", _FETCH, url, str(TIMEOUT), str(ca_file)]
        result = on_host(via, argv, timeout=30, check=False)
        try:
            status, body = json.loads(result.stdout)
        except ValueError:
            return 0, result.stderr.strip()
        return int(status), str(body)

    return get


def patroni(region: Region, via: str | None = None) -> Patroni:
    """The region's cluster, asked from this machine or, with `via` (one of its members' hosts),
    from inside that host."""
    urls = [m.rest_url for m in region.members]
    if via is None:
        return Patroni(urls, http_getter(TIMEOUT))
    host = next((m for m in region.members if m.host == via), None)
    if host is None:
        raise RoadieError(f"{via} is no member of region {region.number}: ask the cluster from one of its hosts")
    return Patroni(urls, host_getter(via, host.ca_file))


def members(region: Region, via: str | None = None) -> tuple[ClusterMember, ...]:
    """Patroni's /cluster, asked of any member that answers (empty when none does)."""
    return patroni(region, via).cluster() or ()


def leader_role(region: Region, via: str | None = None) -> str | None:
    """`leader` (takes writes), `standby_leader` (a standby cluster) or None (no leader)."""
    roles = {m.role for m in members(region, via)}
    for role in LEADER_ROLES:
        if role in roles:
            return role
    return None


def writable_members(region: Region, via: str | None = None) -> list[str]:
    """Members whose Patroni says they are a read-write primary (GET /primary == 200)."""
    cluster = patroni(region, via)
    return [m.host for m in region.members if cluster.is_primary(m.rest_url)]


def streaming(region: Region, via: str | None = None) -> bool:
    """Every member runs and replicates (the standby leader from the other region)."""
    found = members(region, via)
    return len(found) == len(region.members) and all(m.running for m in found)


def replay_lsn(region: Region, via: str | None = None) -> int | None:
    """The leader's (or standby leader's) WAL position, from its Patroni REST API."""
    return patroni(region, via).leader_position()


def edit_config(member: Member, *settings: str) -> None:
    args = [str(member.patronictl), "-c", str(member.config), "edit-config", "--force", "--quiet"]
    for setting in settings:
        args += ["--set", setting]
    on_host(member.host, args, timeout=60)


def promote(region: Region) -> None:
    """Turn a standby cluster into a primary cluster: remove standby_cluster."""
    edit_config(_any_member(region), "standby_cluster=null")


def demote(region: Region, source_host: str, source_port: int) -> None:
    """Turn a cluster into a standby cluster replicating from source_host:source_port."""
    edit_config(
        _any_member(region),
        f"standby_cluster.host={source_host}",
        f"standby_cluster.port={source_port}",
        "standby_cluster.create_replica_methods=[basebackup]",
    )


def _any_member(region: Region) -> Member:
    for member in region.members:
        if Patroni([member.rest_url], host_getter(member.host, member.ca_file)).answers(member.rest_url):
            return member
    raise RoadieError(f"no Patroni member of region {region.number} answers")
