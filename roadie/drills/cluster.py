"""The cluster's current shape, asked from the services themselves (sync, for set-up and checks)."""

from collections.abc import Callable

import redis

from roadie.drills.endpoints import Endpoints
from roadie.errors import RoadieError
from roadie.polling import poll_until
from roadie.services import redis as redis_client
from roadie.services.patroni import ClusterMember
from roadie.services.registry import Endpoint

DEFAULT_REPLICA_PRIORITY = 100
# A replica counts as in sync when it acknowledged within this many seconds and is at most
# this far behind the master (replication pings and a drill's writes keep it moving).
REPLICA_MAX_LAG_S = 1
REPLICA_SYNC_BYTES = 1 << 20


def patroni_members(endpoints: Endpoints) -> tuple[ClusterMember, ...]:
    members = endpoints.patroni().cluster()
    if members is None:
        raise RoadieError("no Patroni member answers: is the lab up?")
    return members


def patroni_leader(endpoints: Endpoints) -> str | None:
    leaders = [m.name for m in patroni_members(endpoints) if m.role == "leader"]
    return leaders[0] if len(leaders) == 1 else None


def patroni_healthy(endpoints: Endpoints) -> bool:
    """One leader, one sync standby, and every member streaming."""
    try:
        members = patroni_members(endpoints)
    except RoadieError:
        return False
    roles = sorted(m.role for m in members)
    running = all(m.running for m in members)
    return (
        running
        and len(members) == len(endpoints.pg_members)
        and roles.count("leader") == 1
        and ("sync_standby" in roles)
    )


def redis_master(endpoints: Endpoints, secrets: dict[str, str]) -> str | None:
    """The host whose Redis the Sentinels name as master."""
    sentinels = endpoints.sentinel_set(secrets["sentinel"])
    for sentinel in sentinels.endpoints:
        try:
            master = sentinels.master_seen_by(sentinel)
        except redis.RedisError:
            continue
        for name, member in endpoints.redis_members.items():
            if Endpoint(*member) == master:
                return name
    return None


def move_redis_master(endpoints: Endpoints, secrets: dict[str, str], target: str, timeout: float = 60) -> None:
    """Make the Redis on `target` the master: the lowest replica-priority wins a Sentinel
    failover, so give `target` the lowest, ask a Sentinel to fail over, then put every
    member back to the default priority, persisted (Sentinel rewrites the configuration of the
    members it reconfigures, which would otherwise keep the drill's priority)."""
    admins = {
        name: redis_client.node(Endpoint(*member), secrets["redis_admin"], timeout=2)
        for name, member in endpoints.redis_members.items()
    }
    for name, admin in admins.items():
        admin.config_set("replica-priority", 1 if name == target else DEFAULT_REPLICA_PRIORITY)
    try:
        sentinels = endpoints.sentinel_set(secrets["sentinel"], timeout=2)
        # Sentinel learns a replica's priority from its INFO, polled every 10 s: fail over only
        # once it sees the new priorities, or it picks by replication offset instead.
        replica = Endpoint(*endpoints.redis_members[target])
        wait_for(lambda: sentinels.replica_priority(replica) == 1, timeout, f"Sentinel to see {target}'s priority")
        sentinels.failover()
        wait_for(lambda: redis_master(endpoints, secrets) == target, timeout, f"Sentinel to promote {target}")
    finally:
        for name, address in endpoints.redis_members.items():
            member = Endpoint(*address)
            wait_for(
                lambda m=member: _default_priority(m, secrets["redis_admin"]),
                20,
                f"{name} to take the default replica-priority back",
            )


def _default_priority(member: Endpoint, password: str) -> bool:
    """Put `member` back to the default priority, persisted, on a new connection: Sentinel
    closes every client connection of a server it reconfigures (the old master, then each
    replica), so a connection from before the failover, or one opened just before its
    reconfiguration, is closed under the command. Over TLS redis-py does not notice the close
    before sending; over plain TCP it reconnected by itself."""
    try:
        admin = redis_client.node(member, password, timeout=2)
        admin.config_set("replica-priority", DEFAULT_REPLICA_PRIORITY)
        admin.config_rewrite()
    except redis.ConnectionError:
        return False
    return True


def redis_healthy(endpoints: Endpoints, secrets: dict[str, str]) -> bool:
    """The master has every replica in sync and every Sentinel sees the quorum."""
    master = redis_master(endpoints, secrets)
    if master is None:
        return False
    admin = redis_client.node(Endpoint(*endpoints.redis_members[master]), secrets["redis_admin"])
    try:
        replication = admin.info("replication")
        quorum = endpoints.sentinel_set(secrets["sentinel"]).quorum()
    except redis.RedisError:
        return False
    return quorum and replicas_in_sync(replication, len(endpoints.redis_members) - 1)


def replicas_in_sync(replication: dict[str, object], expected: int) -> bool:
    """INFO replication of a master shows `expected` replicas, each online (not in a full
    resync), acknowledging within the last second and at most REPLICA_SYNC_BYTES behind.

    A replica that is merely connected may still be loading the master's snapshot: promoted
    then (a drill that moves the master, or kills it), it comes up without the acknowledged
    writes (seen: an AZ outage that lost the sessions and 57 acknowledged writes)."""
    offset = _number(replication.get("master_repl_offset"))
    replicas = [entry for key, entry in replication.items() if key.startswith("slave") and isinstance(entry, dict)]
    synced = [
        entry
        for entry in replicas
        if entry.get("state") == "online"
        and _number(entry.get("lag"), default=REPLICA_MAX_LAG_S + 1) <= REPLICA_MAX_LAG_S
        and offset - _number(entry.get("offset")) <= REPLICA_SYNC_BYTES
    ]
    return len(replicas) == expected and len(synced) == expected


def _number(value: object, default: int = 0) -> int:
    return int(value) if isinstance(value, int | str) and str(value).lstrip("-").isdigit() else default


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll until the check holds; returns the seconds it took. Raises if it never does."""
    return poll_until(check, timeout, what, interval=0.25).seconds
