"""Watchers: sample the cluster's own view of itself during a drill and journal changes.

They answer "when did the system notice?" (detection time) and "were there ever two
primaries that acknowledged writes?" (the split-brain check).
"""

import asyncio
import contextlib
import time
from abc import ABC, abstractmethod
from collections.abc import Hashable

import psycopg
import redis.asyncio as aioredis

from roadie.checker.history import MemberState, Sample
from roadie.drills.endpoints import Endpoints
from roadie.drills.probes import NO_RETRY, PgTarget
from roadie.drills.records import Journal
from roadie.services import internal_tls
from roadie.services.haproxy import AsyncHaproxyStats
from roadie.services.patroni import AsyncPatroni, leaders

SAMPLE_INTERVAL = 0.25
FENCE_TABLE = "drill_fence"
MEMBER_TIMEOUT_S = 0.8
# SQLSTATE classes of a member that is up but refuses writes: 25 read-only transaction,
# 57 shutting down / starting up / terminated by the administrator, 08 connection failure.
NOT_WRITABLE_SQLSTATE_CLASSES = ("25", "57", "08")
# libpq's and psycopg's messages for a server that cannot be reached, went away, or is not
# accepting connections yet.
NOT_WRITABLE_CONNECTION_ERRORS = (
    "connection refused",
    "timeout expired",
    "no route to host",
    "network is unreachable",
    "connection reset by peer",
    "server closed the connection unexpectedly",
    "could not receive data from server",
    "could not send data to server",
    "ssl syscall error",
    "ssl connection has been closed unexpectedly",
    "the connection is lost",
    "the connection is closed",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "the database system is not yet accepting connections",
)


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
        self.patroni = AsyncPatroni(endpoints.patroni().urls, timeout=0.4)

    async def sample(self) -> Hashable:
        members = await self.patroni.cluster()
        if members is None:
            return "unknown"
        found = leaders(members)
        return found[0] if found else "none"

    async def close(self) -> None:
        await self.patroni.close()


class WritablePrimariesWatcher(Watcher):
    """Which members acknowledge a write when written to directly: the split-brain check.

    A replica refuses at once (read-only); a primary that lost its synchronous standby
    or its lock never acknowledges; only a real primary answers. Every member's state in every
    round goes to the journal's samples (writable, not writable, unknown: see `member_state`),
    which the split-brain checker judges; the event value is the writable members.
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
        at = time.monotonic()
        results = await asyncio.gather(*(self._try_write(name) for name in self.targets))
        self.journal.sample(
            [Sample(at, name, state, error) for name, (state, error) in zip(self.targets, results, strict=True)]
        )
        writable = tuple(
            sorted(name for name, (state, _) in zip(self.targets, results, strict=True) if state == "writable")
        )
        self.max_writable = max(self.max_writable, len(writable))
        return writable

    async def _try_write(self, name: str) -> tuple[MemberState, str]:
        try:
            # One budget for connecting and writing keeps a round inside the watcher's 1 s.
            await asyncio.wait_for(self._write(name), MEMBER_TIMEOUT_S)
        except Exception as exc:
            stale = self.conns.pop(name, None)
            if stale is not None:
                with contextlib.suppress(Exception):  # the connection is already broken
                    await asyncio.wait_for(stale.close(), 0.3)
            return member_state(exc), f"{type(exc).__name__}: {exc}"[:160]
        return "writable", ""

    async def _write(self, name: str) -> None:
        conn = self.conns.get(name)
        if conn is None:
            conn = await psycopg.AsyncConnection.connect(self.targets[name].conninfo(), autocommit=True)
            self.conns[name] = conn
        await conn.execute(f"insert into {FENCE_TABLE} (member) values (%s)", (name,))

    async def close(self) -> None:
        for conn in self.conns.values():
            with contextlib.suppress(Exception):  # best effort at the end of a drill
                await asyncio.wait_for(conn.close(), 0.5)


def member_state(exc: BaseException) -> MemberState:
    """What a failed write tells about a member. `not writable` only for the answers a fenced,
    stopped or unreachable member gives: no answer in time (a primary waiting for a synchronous
    standby it lost, a frozen or cut-off host), a refused or lost connection, read-only, shutting
    down or starting up. Anything else (a wrong password, a missing table, a bug) says nothing
    about the member: `unknown`, never "not writable", or a blind sampler would pass."""
    if isinstance(exc, TimeoutError):
        return "not writable"
    if not isinstance(exc, psycopg.Error):
        return "unknown"
    if exc.sqlstate is not None:
        return "not writable" if exc.sqlstate[:2] in NOT_WRITABLE_SQLSTATE_CLASSES else "unknown"
    # libpq reports connection failures without an SQLSTATE; its wording is all there is.
    text = str(exc).lower()
    return "not writable" if any(phrase in text for phrase in NOT_WRITABLE_CONNECTION_ERRORS) else "unknown"


class SentinelMasterWatcher(Watcher):
    """The Redis master the majority of reachable Sentinels report."""

    source = "sentinel"
    what = "master"

    def __init__(self, journal: Journal, endpoints: Endpoints, password: str) -> None:
        super().__init__(journal)
        self.clients = [
            aioredis.Redis(
                host=a,
                port=p,
                password=password,
                socket_timeout=0.4,
                socket_connect_timeout=0.4,
                retry=NO_RETRY,
                **internal_tls.redis_options(),
            )
            for a, p in endpoints.sentinels
        ]
        self.master_name = endpoints.sentinel_master

    async def sample(self) -> Hashable:
        answers = await asyncio.gather(*(self._ask(c) for c in self.clients))
        known = [a for a in answers if a]
        return max(set(known), key=known.count) if known else "unknown"

    async def _ask(self, client: aioredis.Redis) -> str:
        try:
            host, port = await client.execute_command("SENTINEL", "get-master-addr-by-name", self.master_name)
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
        self.stats = AsyncHaproxyStats(stats_url, password, timeout=0.4)
        self.backend = backend
        self.source = source

    async def sample(self) -> Hashable:
        up = sorted(await self.stats.up(self.backend))
        return ",".join(up) or "none"

    async def close(self) -> None:
        await self.stats.close()
