"""Watchers: sample the cluster's own view of itself during a drill and journal changes.

They answer "when did the system notice?" (detection time) and "were there ever two
primaries that acknowledged writes?" (the split-brain check).
"""

import asyncio
import contextlib
import time
from abc import ABC, abstractmethod
from collections.abc import Hashable

import httpx
import psycopg
import redis.asyncio as aioredis

from roadie.drills.endpoints import Endpoints
from roadie.drills.probes import NO_RETRY, PgTarget
from roadie.drills.records import Journal
from roadie.lab.haproxy import up_servers

SAMPLE_INTERVAL = 0.25
FENCE_TABLE = "drill_fence"


class Watcher(ABC):
    """Samples one view repeatedly and journals an event whenever the value changes."""

    source = "watch"
    what = "state"

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.last: Hashable | None = None

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            started = time.time()
            try:
                value = await asyncio.wait_for(self.sample(), 1.0)
            except Exception:
                value = "unknown"
            if value != self.last:
                self.journal.event(self.source, self.what, at=started, value=value, previous=self.last)
                self.last = value
            await asyncio.sleep(max(0.0, SAMPLE_INTERVAL - (time.time() - started)))
        await self.close()

    @abstractmethod
    async def sample(self) -> Hashable: ...

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


class PatroniLeaderWatcher(Watcher):
    """The leader as Patroni's REST API reports it (asking members in turn)."""

    source = "patroni"
    what = "leader"

    def __init__(self, journal: Journal, endpoints: Endpoints) -> None:
        super().__init__(journal)
        self.urls = [f"http://{a}:{rest}/cluster" for a, _, rest in endpoints.pg_members.values()]
        self.client = httpx.AsyncClient(timeout=0.4)

    async def sample(self) -> Hashable:
        for url in self.urls:
            try:
                members = (await self.client.get(url)).json()["members"]
            except (httpx.HTTPError, ValueError, KeyError):
                continue
            leaders = sorted(m["name"] for m in members if m["role"] in ("leader", "standby_leader"))
            return leaders[0] if leaders else "none"
        return "unknown"

    async def close(self) -> None:
        await self.client.aclose()


class WritablePrimariesWatcher(Watcher):
    """Which members acknowledge a write when written to directly: the split-brain check.

    A replica refuses at once (read-only); a primary that lost its synchronous standby
    or its lock never acknowledges; only a real primary answers.
    """

    source = "postgres"
    what = "writable"

    def __init__(self, journal: Journal, endpoints: Endpoints, user: str, password: str) -> None:
        super().__init__(journal)
        self.targets = {
            name: PgTarget(address, port, user, password) for name, (address, port, _) in endpoints.pg_members.items()
        }
        self.conns: dict[str, psycopg.AsyncConnection] = {}
        self.max_writable = 0

    async def sample(self) -> Hashable:
        results = await asyncio.gather(*(self._try_write(name) for name in self.targets))
        writable = tuple(sorted(name for name, ok in zip(self.targets, results, strict=True) if ok))
        self.max_writable = max(self.max_writable, len(writable))
        return writable

    async def _try_write(self, name: str) -> bool:
        try:
            conn = self.conns.get(name)
            if conn is None:
                conn = await asyncio.wait_for(
                    psycopg.AsyncConnection.connect(self.targets[name].conninfo(), autocommit=True), 0.7
                )
                self.conns[name] = conn
            await asyncio.wait_for(
                conn.execute(f"insert into {FENCE_TABLE} (member) values (%s)", (name,)),
                0.7,
            )
        except Exception:
            stale = self.conns.pop(name, None)
            if stale is not None:
                with contextlib.suppress(Exception):  # the connection is already broken
                    await asyncio.wait_for(stale.close(), 0.3)
            return False
        return True

    async def close(self) -> None:
        for conn in self.conns.values():
            with contextlib.suppress(Exception):  # best effort at the end of a drill
                await asyncio.wait_for(conn.close(), 0.5)


class SentinelMasterWatcher(Watcher):
    """The Redis master the majority of reachable Sentinels report."""

    source = "sentinel"
    what = "master"

    def __init__(self, journal: Journal, endpoints: Endpoints, password: str) -> None:
        super().__init__(journal)
        self.clients = [
            aioredis.Redis(
                host=a, port=p, password=password, socket_timeout=0.4, socket_connect_timeout=0.4, retry=NO_RETRY
            )
            for a, p in endpoints.sentinels
        ]

    async def sample(self) -> Hashable:
        answers = await asyncio.gather(*(self._ask(c) for c in self.clients))
        known = [a for a in answers if a]
        return max(set(known), key=known.count) if known else "unknown"

    async def _ask(self, client: aioredis.Redis) -> str:
        try:
            host, port = await client.execute_command("SENTINEL", "get-master-addr-by-name", "roadie")
        except Exception:
            return ""
        return f"{host.decode()}:{port.decode()}"

    async def close(self) -> None:
        for client in self.clients:
            await client.aclose()


class HaproxyBackendWatcher(Watcher):
    """Which servers of one HAProxy backend are UP (read from its stats CSV)."""

    what = "up"

    def __init__(self, journal: Journal, *, stats_url: str, password: str, backend: str, source: str) -> None:
        super().__init__(journal)
        self.url = stats_url
        self.backend = backend
        self.source = source
        self.client = httpx.AsyncClient(timeout=0.4, auth=("stats", password))

    async def sample(self) -> Hashable:
        csv = (await self.client.get(self.url)).text
        up = sorted(up_servers(csv, self.backend))
        return ",".join(up) or "none"

    async def close(self) -> None:
        await self.client.aclose()
