"""The Patroni clusters of both regions: their state, and the two changes a region
failover makes (promote a standby cluster, demote a cluster to a standby cluster).

Changes go through `patronictl edit-config`, run on one of the cluster's own hosts (inside
its cgroup), as an operator would over ssh: the fence of a lost region does not stop them.
"""

import json
from typing import Any

import httpx

from roadie.backup.hostexec import on_host
from roadie.dr.topology import Member, Region
from roadie.errors import RoadieError

TIMEOUT = 1.0
# GET a URL from inside a lab host (its cgroup): how the operator sees a fenced region.
_FETCH = """
import json, sys, urllib.error, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])) as r:
        print(json.dumps([r.status, r.read().decode()]))
except urllib.error.HTTPError as e:
    print(json.dumps([e.code, e.read().decode()]))
except Exception as e:
    print(json.dumps([0, str(e)]))
"""


def http_get(url: str, via: str | None = None) -> tuple[int, str]:
    """(status, body) of a GET; status 0 when nothing answered. With `via`, from that host."""
    if via is None:
        try:
            response = httpx.get(url, timeout=TIMEOUT)
        except httpx.HTTPError as exc:
            return 0, str(exc)
        return response.status_code, response.text
    result = on_host(via, ["/usr/bin/python3", "-c", _FETCH, url, str(TIMEOUT)], timeout=30, check=False)
    try:
        status, body = json.loads(result.stdout)
    except ValueError:
        return 0, result.stderr.strip()
    return int(status), str(body)


def members(region: Region, via: str | None = None) -> list[dict[str, Any]]:
    """Patroni's /cluster, asked of any member that answers ([] when none does)."""
    for member in region.members:
        status, body = http_get(f"{member.rest_url}/cluster", via)
        if status == 200:
            try:
                return list(json.loads(body)["members"])
            except (ValueError, KeyError):
                continue
    return []


def leader_role(region: Region, via: str | None = None) -> str | None:
    """`leader` (takes writes), `standby_leader` (a standby cluster) or None (no leader)."""
    roles = {m.get("role") for m in members(region, via)}
    for role in ("leader", "standby_leader"):
        if role in roles:
            return role
    return None


def writable_members(region: Region, via: str | None = None) -> list[str]:
    """Members whose Patroni says they are a read-write primary (GET /primary == 200)."""
    return [m.host for m in region.members if http_get(f"{m.rest_url}/primary", via)[0] == 200]


def streaming(region: Region, via: str | None = None) -> bool:
    """Every member runs and replicates (the standby leader from the other region)."""
    found = members(region, via)
    return len(found) == len(region.members) and all(m.get("state") in ("running", "streaming") for m in found)


def replay_lsn(region: Region, via: str | None = None) -> int | None:
    """The leader's (or standby leader's) WAL position, from its Patroni REST API."""
    for member in region.members:
        status, body = http_get(f"{member.rest_url}/patroni", via)
        try:
            data = json.loads(body) if status == 200 else {}
        except ValueError:
            continue
        if data.get("role") in ("primary", "master", "standby_leader"):
            xlog = data.get("xlog", {})
            value = xlog.get("location", xlog.get("replayed_location", xlog.get("received_location")))
            return int(value) if value is not None else None
    return None


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
        if http_get(f"{member.rest_url}/health", member.host)[0] in (200, 503):
            return member
    raise RoadieError(f"no Patroni member of region {region.number} answers")
