"""The cluster's current shape, asked from the services themselves (sync, for set-up and checks)."""

from typing import Any

import httpx
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from roadie.drills.endpoints import Endpoints
from roadie.errors import RoadieError
from roadie.polling import poll_until

# One answer per question: an unreachable server must not cost seconds of retries.
NO_RETRY = Retry(NoBackoff(), 0)
DEFAULT_REPLICA_PRIORITY = 100


def patroni_members(endpoints: Endpoints) -> list[dict[str, Any]]:
    for address, _, rest in endpoints.pg_members.values():
        try:
            return httpx.get(f"http://{address}:{rest}/cluster", timeout=1).json()["members"]
        except (httpx.HTTPError, ValueError, KeyError):
            continue
    raise RoadieError("no Patroni member answers: is the lab up?")


def patroni_leader(endpoints: Endpoints) -> str | None:
    leaders = [m["name"] for m in patroni_members(endpoints) if m["role"] == "leader"]
    return leaders[0] if len(leaders) == 1 else None


def patroni_healthy(endpoints: Endpoints) -> bool:
    """One leader, one sync standby, and every member streaming."""
    try:
        members = patroni_members(endpoints)
    except RoadieError:
        return False
    roles = sorted(m["role"] for m in members)
    running = all(m["state"] in ("running", "streaming") for m in members)
    return (
        running
        and len(members) == len(endpoints.pg_members)
        and roles.count("leader") == 1
        and ("sync_standby" in roles)
    )


def redis_master(endpoints: Endpoints, secrets: dict[str, str]) -> str | None:
    """The host whose Redis the Sentinels name as master."""
    for address, port in endpoints.sentinels:
        try:
            client = redis.Redis(
                host=address, port=port, password=secrets["sentinel"], socket_timeout=1, retry=NO_RETRY
            )
            host, master_port = client.execute_command("SENTINEL", "get-master-addr-by-name", "roadie")
        except redis.RedisError:
            continue
        for name, (member_address, member_port) in endpoints.redis_members.items():
            if (member_address, member_port) == (host.decode(), int(master_port)):
                return name
    return None


def move_redis_master(endpoints: Endpoints, secrets: dict[str, str], target: str, timeout: float = 60) -> None:
    """Make the Redis on `target` the master: the lowest replica-priority wins a Sentinel
    failover, so give `target` the lowest, ask a Sentinel to fail over, then put every
    member back to the default priority, persisted (Sentinel rewrites the configuration of the
    members it reconfigures, which would otherwise keep the drill's priority)."""
    admins = {
        name: redis.Redis(
            host=address, port=port, username="admin", password=secrets["redis_admin"], socket_timeout=2, retry=NO_RETRY
        )
        for name, (address, port) in endpoints.redis_members.items()
    }
    for name, admin in admins.items():
        admin.config_set("replica-priority", 1 if name == target else DEFAULT_REPLICA_PRIORITY)
    try:
        sentinel_address, sentinel_port = endpoints.sentinels[0]
        sentinel = redis.Redis(
            host=sentinel_address,
            port=sentinel_port,
            password=secrets["sentinel"],
            socket_timeout=2,
            retry=NO_RETRY,
            decode_responses=True,
        )
        # Sentinel learns a replica's priority from its INFO, polled every 10 s: fail over only
        # once it sees the new priorities, or it picks by replication offset instead.
        address, port = endpoints.redis_members[target]
        poll_until(
            lambda: _sentinel_priority(sentinel, address, port) == 1, timeout, f"Sentinel to see {target}'s priority"
        )
        sentinel.execute_command("SENTINEL", "FAILOVER", "roadie")
        poll_until(lambda: redis_master(endpoints, secrets) == target, timeout, f"Sentinel to promote {target}")
    finally:
        for admin in admins.values():
            admin.config_set("replica-priority", DEFAULT_REPLICA_PRIORITY)
            admin.config_rewrite()


def _sentinel_priority(sentinel: redis.Redis, address: str, port: int) -> int | None:
    for replica in sentinel.execute_command("SENTINEL", "REPLICAS", "roadie"):
        fields = dict(zip(replica[::2], replica[1::2], strict=True)) if isinstance(replica, list) else replica
        if fields.get("ip") == address and int(fields.get("port", 0)) == port:
            return int(fields.get("slave-priority", fields.get("replica-priority", -1)))
    return None


def redis_healthy(endpoints: Endpoints, secrets: dict[str, str]) -> bool:
    """The master has every replica connected and every Sentinel sees the quorum."""
    master = redis_master(endpoints, secrets)
    if master is None:
        return False
    address, port = endpoints.redis_members[master]
    try:
        admin = redis.Redis(
            host=address, port=port, username="admin", password=secrets["redis_admin"], socket_timeout=1, retry=NO_RETRY
        )
        replicas = admin.info("replication").get("connected_slaves", 0)
        quorum = all(
            str(
                redis.Redis(
                    host=a, port=p, password=secrets["sentinel"], socket_timeout=1, decode_responses=True
                ).execute_command("SENTINEL", "CKQUORUM", "roadie")
            ).startswith("OK")
            for a, p in endpoints.sentinels
        )
    except redis.RedisError:
        return False
    return quorum and replicas == len(endpoints.redis_members) - 1
