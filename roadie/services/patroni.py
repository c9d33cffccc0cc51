"""Patroni's REST API (`/cluster`, `/patroni`, `/primary`, `/health`): the one reader of it.

A cluster is asked through any member that answers: `/cluster` is every member's view of the
DCS, so the first answer is the cluster's. HTTP goes through a `Getter`, so that the same
client reads the API from the controller or from inside a lab host (how an operator sees a
fenced region: roadie.dr.cluster).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from roadie.services import internal_tls
from roadie.services.registry import Service

# (status, body) of a GET; status 0 when nothing answered.
Getter = Callable[[str], tuple[int, str]]
TIMEOUT = 1.0
# Roles of a member that holds the cluster's leader lock (a standby cluster's leader replicates).
LEADER_ROLES = ("leader", "standby_leader")
# /patroni's role of a member that is the leader of its cluster (Patroni 3 says primary).
PRIMARY_ROLES = ("primary", "master", "standby_leader")
RUNNING_STATES = ("running", "streaming")


@dataclass(frozen=True)
class ClusterMember:
    """One member as `/cluster` lists it."""

    name: str
    role: str  # leader, standby_leader, sync_standby, replica
    state: str  # running, streaming, stopped, starting...
    timeline: int | None = None
    lag: int | None = None  # bytes behind the leader; None for the leader or when unknown

    @property
    def running(self) -> bool:
        return self.state in RUNNING_STATES


def http_getter(timeout: float = TIMEOUT) -> Getter:
    """GET from this machine."""

    def get(url: str) -> tuple[int, str]:
        try:
            response = httpx.get(url, timeout=timeout, verify=internal_tls.verify_for(url))
        except httpx.HTTPError as exc:
            return 0, str(exc)
        return response.status_code, response.text

    return get


def parse_cluster(body: str) -> tuple[ClusterMember, ...]:
    """`/cluster`'s members; ValueError when the body is not Patroni's answer."""
    data = json.loads(body)
    if not isinstance(data, dict) or not isinstance(data.get("members"), list):
        raise ValueError("not a Patroni /cluster answer (no 'members' list)")
    return tuple(_member(m) for m in data["members"])


def _member(data: dict[str, Any]) -> ClusterMember:
    lag = data.get("lag")
    timeline = data.get("timeline")
    return ClusterMember(
        name=str(data["name"]),
        role=str(data.get("role", "")),
        state=str(data.get("state", "")),
        timeline=timeline if isinstance(timeline, int) else None,
        lag=lag if isinstance(lag, int) else None,
    )


def leaders(members: Iterable[ClusterMember]) -> list[str]:
    """Names of the members holding the leader lock, sorted."""
    return sorted(m.name for m in members if m.role in LEADER_ROLES)


def wal_position(status: dict[str, Any]) -> int | None:
    """The WAL position `/patroni` reports for a leader (written, else replayed, else received)."""
    xlog = status.get("xlog", {})
    value = xlog.get("location", xlog.get("replayed_location", xlog.get("received_location")))
    return int(value) if value is not None else None


class Patroni:
    """One Patroni cluster, through the REST APIs of its members (`urls`, in the order asked)."""

    def __init__(self, urls: Sequence[str], get: Getter | None = None) -> None:
        self.urls = tuple(urls)
        self.get = get or http_getter()

    @classmethod
    def of(cls, members: Iterable[Service], get: Getter | None = None) -> Patroni:
        """The cluster of these registry entries (kind patroni)."""
        return cls([m.url("restapi") for m in members], get)

    def cluster(self) -> tuple[ClusterMember, ...] | None:
        """`/cluster` from the first member that answers it; None when none does."""
        for url in self.urls:
            status, body = self.get(f"{url}/cluster")
            if status != 200:
                continue
            try:
                return parse_cluster(body)
            except (ValueError, KeyError):
                continue
        return None

    def status(self, url: str) -> dict[str, Any] | None:
        """`/patroni` of one member (its own view: role, state, timeline, xlog); None when it
        does not answer."""
        status, body = self.get(f"{url}/patroni")
        if status != 200:
            return None
        try:
            data = json.loads(body)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def is_primary(self, url: str) -> bool:
        """The member takes writes: `/primary` answers 200 (503 on a replica or standby leader)."""
        return self.get(f"{url}/primary")[0] == 200

    def answers(self, url: str) -> bool:
        """The member's Patroni runs (`/health` answers, 200 or 503)."""
        return self.get(f"{url}/health")[0] in (200, 503)

    def leader_position(self) -> int | None:
        """The WAL position of the cluster's leader, from its `/patroni`."""
        for url in self.urls:
            data = self.status(url)
            if data is not None and data.get("role") in PRIMARY_ROLES:
                return wal_position(data)
        return None


class AsyncPatroni:
    """The same questions for an asyncio sampler (a drill's watcher)."""

    def __init__(self, urls: Sequence[str], timeout: float) -> None:
        self.urls = tuple(urls)
        # The members' REST APIs share a scheme (https: verified against the internal CA).
        verify = internal_tls.verify_for(self.urls[0]) if self.urls else True
        self.client = httpx.AsyncClient(timeout=timeout, verify=verify)

    async def cluster(self) -> tuple[ClusterMember, ...] | None:
        for url in self.urls:
            try:
                response = await self.client.get(f"{url}/cluster")
                return parse_cluster(response.text)
            except (httpx.HTTPError, ValueError, KeyError):
                continue
        return None

    async def close(self) -> None:
        await self.client.aclose()
