"""Which search nodes exist (configuration) and which of them are up (health checks).

``Membership`` answers "which node owns this routing key right now": the rendezvous owner among
healthy nodes, falling back down the ranking when the owner is down. Health comes from
``HealthPoller`` (HTTP GET of each node's health URL, with HAProxy-style ``fall``/``rise``
counts so one slow answer does not flap the ring) or from anything else calling ``mark``.
A node whose health was never checked is assumed up: at start every node routes normally.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from app.search.rendezvous import Node, Rendezvous

log = logging.getLogger(__name__)


class Membership:
    def __init__(self, nodes: Iterable[Node], self_name: str | None = None) -> None:
        self.ring = Rendezvous(nodes)
        names = {node.name for node in self.ring.nodes}
        if self_name is not None and self_name not in names:
            raise ValueError(f"this node {self_name!r} is not among the configured nodes: {sorted(names)}")
        self.self_name = self_name
        self._healthy: dict[str, bool] = {}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Membership:
        """From ``{"self": "app-1", "nodes": [{"name": "app-1", "url": "http://...", "weight": 1}, ...]}``."""
        nodes = [Node(str(n["name"]), str(n.get("url", "")), float(n.get("weight", 1.0))) for n in config["nodes"]]
        return cls(nodes, config.get("self"))

    def mark(self, name: str, healthy: bool) -> None:
        if self._healthy.get(name) != healthy:
            log.info("search node %s is %s", name, "up" if healthy else "down")
        self._healthy[name] = healthy

    def is_healthy(self, node: Node) -> bool:
        return node.name == self.self_name or self._healthy.get(node.name, True)

    def healthy_nodes(self) -> list[Node]:
        return [node for node in self.ring.nodes if self.is_healthy(node)]

    def owner(self, routing_key: str) -> Node | None:
        """The healthy node that owns ``routing_key``; None only if every node is down."""
        return self.ring.owner(routing_key, self.is_healthy)

    def is_mine(self, routing_key: str) -> bool:
        owner = self.owner(routing_key)
        return owner is None or owner.name == self.self_name


@dataclass(frozen=True, slots=True)
class HealthCheckConfig:
    path: str = "/healthz"
    interval: float = 1.0
    timeout: float = 0.5
    fall: int = 2  # consecutive failures before a node is marked down
    rise: int = 2  # consecutive successes before it is marked up again


class HealthPoller:
    """Polls every other node's health URL and marks it in ``membership``."""

    def __init__(self, membership: Membership, client: httpx.AsyncClient, config: HealthCheckConfig) -> None:
        self._membership = membership
        self._client = client
        self._config = config
        self._streak: dict[str, int] = {}  # > 0: successes in a row, < 0: failures in a row

    async def check_once(self) -> None:
        nodes = [n for n in self._membership.ring.nodes if n.url and n.name != self._membership.self_name]
        results = await asyncio.gather(*(self._probe(node) for node in nodes))
        for node, ok in zip(nodes, results, strict=True):
            streak = self._streak.get(node.name, 0)
            streak = max(streak, 0) + 1 if ok else min(streak, 0) - 1
            self._streak[node.name] = streak
            if streak >= self._config.rise:
                self._membership.mark(node.name, True)
            elif -streak >= self._config.fall:
                self._membership.mark(node.name, False)

    async def run(self) -> None:
        while True:
            await self.check_once()
            await asyncio.sleep(self._config.interval)

    async def _probe(self, node: Node) -> bool:
        with contextlib.suppress(httpx.HTTPError):
            response = await self._client.get(node.url + self._config.path, timeout=self._config.timeout)
            return response.status_code == httpx.codes.OK
        return False
