"""The cluster's current shape, asked from the services themselves (sync, for set-up and checks)."""

import redis

from roadie.drills.endpoints import Endpoints
from roadie.errors import RoadieError
from roadie.polling import poll_until
from roadie.services import redis as redis_client
from roadie.services.patroni import ClusterMember
from roadie.services.registry import Endpoint

DEFAULT_REPLICA_PRIORITY = 100


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
        poll_until(lambda: sentinels.replica_priority(replica) == 1, timeout, f"Sentinel to see {target}'s priority")
        sentinels.failover()
        poll_until(lambda: redis_master(endpoints, secrets) == target, timeout, f"Sentinel to promote {target}")
    finally:
        for admin in admins.values():
            admin.config_set("replica-priority", DEFAULT_REPLICA_PRIORITY)
            admin.config_rewrite()


def redis_healthy(endpoints: Endpoints, secrets: dict[str, str]) -> bool:
    """The master has every replica connected and every Sentinel sees the quorum."""
    master = redis_master(endpoints, secrets)
    if master is None:
        return False
    admin = redis_client.node(Endpoint(*endpoints.redis_members[master]), secrets["redis_admin"])
    try:
        replicas = admin.info("replication").get("connected_slaves", 0)
        quorum = endpoints.sentinel_set(secrets["sentinel"]).quorum()
    except redis.RedisError:
        return False
    return quorum and replicas == len(endpoints.redis_members) - 1
