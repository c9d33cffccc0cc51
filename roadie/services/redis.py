"""Redis and its Sentinels: the master the Sentinels name, their quorum, a node's role, and
the one change the drills make (a Sentinel failover towards a chosen node).

Redis and Sentinel serve TLS only: every client verifies them against the internal CA
(internal_tls). Every client is built with no retry: an unreachable server must not cost seconds of retries
when the question is "who answers now?".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from roadie.services import internal_tls
from roadie.services.registry import Endpoint, Service

NO_RETRY = Retry(NoBackoff(), 0)
TIMEOUT = 1.0
ADMIN_USER = "admin"
DEFAULT_MASTER_NAME = "roadie"


def node(endpoint: Endpoint, password: str, *, user: str = ADMIN_USER, timeout: float = TIMEOUT) -> redis.Redis:
    """A Redis server, as its ACL user `user` (the admin by default)."""
    return redis.Redis(
        host=endpoint.address,
        port=endpoint.port,
        username=user,
        password=password,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=NO_RETRY,
        decode_responses=True,
        **internal_tls.redis_options(),
    )


@dataclass(frozen=True)
class NodeRole:
    """A node's answer to ROLE."""

    role: str  # master or slave
    replicas: int  # connected replicas (a master)
    master: str  # the master's address (a replica)
    state: str  # replication state (a replica): connect, sync, connected


def role(client: redis.Redis) -> NodeRole:
    answer = client.execute_command("ROLE")
    if answer[0] == "master":
        return NodeRole("master", len(answer[2]), "", "")
    return NodeRole(str(answer[0]), 0, str(answer[1]), str(answer[3]))


def priority_of(replicas: list[Any], replica: Endpoint) -> int | None:
    """`replica`'s priority in SENTINEL REPLICAS' answer: parsed dicts (RESP3) or flat lists."""
    for entry in replicas:
        fields = dict(zip(entry[::2], entry[1::2], strict=True)) if isinstance(entry, list) else entry
        if fields.get("ip") == replica.address and int(fields.get("port", 0)) == replica.port:
            return int(fields.get("slave-priority", fields.get("replica-priority", -1)))
    return None


@dataclass(frozen=True)
class Sentinels:
    """The Sentinels watching one master name."""

    endpoints: tuple[Endpoint, ...]
    password: str
    master_name: str = DEFAULT_MASTER_NAME
    timeout: float = TIMEOUT

    @classmethod
    def of(cls, sentinels: Sequence[Service], password: str, timeout: float = TIMEOUT) -> Sentinels:
        """The Sentinels of these registry entries (kind sentinel), watching the master they record."""
        name = sentinels[0].text("master_name", DEFAULT_MASTER_NAME) if sentinels else DEFAULT_MASTER_NAME
        return cls(tuple(s.endpoint("sentinel") for s in sentinels), password, name, timeout)

    def client(self, endpoint: Endpoint, timeout: float | None = None) -> redis.Redis:
        wait = self.timeout if timeout is None else timeout
        return redis.Redis(
            host=endpoint.address,
            port=endpoint.port,
            password=self.password,
            socket_timeout=wait,
            socket_connect_timeout=wait,
            retry=NO_RETRY,
            decode_responses=True,
            **internal_tls.redis_options(),
        )

    def master_seen_by(self, sentinel: Endpoint) -> Endpoint:
        """The master one Sentinel names (raises redis.RedisError when it does not answer)."""
        address, port = self.client(sentinel).execute_command("SENTINEL", "get-master-addr-by-name", self.master_name)
        return Endpoint(str(address), int(port))

    def master(self) -> Endpoint | None:
        """The master the first answering Sentinel names; None when none answers."""
        for sentinel in self.endpoints:
            try:
                return self.master_seen_by(sentinel)
            except redis.RedisError:
                continue
        return None

    def ckquorum(self, sentinel: Endpoint) -> str:
        """SENTINEL CKQUORUM's answer ("OK ..."); a ResponseError says why there is none."""
        return str(self.client(sentinel).execute_command("SENTINEL", "CKQUORUM", self.master_name))

    def quorum(self) -> bool:
        """Every Sentinel sees a quorum (raises redis.RedisError when one does not answer)."""
        return all(self.ckquorum(s).startswith("OK") for s in self.endpoints)

    def replica_priority(self, replica: Endpoint) -> int | None:
        """The replica-priority the first Sentinel last read from `replica`'s INFO."""
        answer = self.client(self.endpoints[0], 2.0).execute_command("SENTINEL", "REPLICAS", self.master_name)
        return priority_of(answer, replica)

    def failover(self) -> None:
        """Ask the first Sentinel to fail over now (it picks the replica by priority, then offset)."""
        self.client(self.endpoints[0], 2.0).execute_command("SENTINEL", "FAILOVER", self.master_name)
