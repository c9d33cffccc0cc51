"""PostgreSQL connection pools, one pair per shard database, all through HAProxy.

`primary(shard)` reaches the Patroni primary (HAProxy read-write port): bookings and anything
that must see the latest committed state. `replica(shard)` reaches a streaming replica
(read-only port) for eventually consistent reads, and falls back to the primary pool when no
replica answers (HAProxy does the same when its replica pool is empty; this covers HAProxy's
read-only port itself being unreachable).

`transient_failure` tells a failure of the database (no writable primary for a while: a
failover, a switchover, a restart) from a failure of the request, and whether the
transaction may have committed regardless.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from app.common.settings import Endpoint, PostgresSettings, Shard

log = logging.getLogger(__name__)

Connection = psycopg.AsyncConnection[dict]

# Errors that abort the transaction before it commits: a re-run is as safe as the first run.
NOT_COMMITTED = {
    "25006": "read-only",  # a write reached a replica or a demoted primary (HAProxy not switched yet)
    "40001": "serialization",  # the server rolled back; PostgreSQL documents it as "retry"
    "57P03": "cannot connect now",  # the server is starting, shutting down or in recovery
}
# Errors that can end a session whose COMMIT is already local: "terminating connection due to
# administrator command" is what a switchover's fast shutdown sends to a backend waiting for its
# synchronous standby, after the commit. A re-run is safe only when it finds its own first run
# (an idempotency key).
MAYBE_COMMITTED = {"57P01": "admin shutdown", "57P02": "crash shutdown"}
CONNECTION_CLASS = "08"
PROTOCOL_VIOLATION = "08P01"  # a bug on one side, not a failover


@dataclass(frozen=True)
class Transient:
    """A failure of the database, not of the request: a re-run may succeed."""

    reason: str  # for metrics and logs: "no connection", "connection lost", "read-only", ...
    maybe_committed: bool  # the failed transaction may have committed all the same


def transient_failure(exc: BaseException) -> Transient | None:
    """Whether `exc` is a transient database failure, and of which kind; None: it is not
    (a constraint, a statement timeout, a deadlock, a bug: a re-run would meet it again or
    hide it)."""
    if isinstance(exc, PoolTimeout):
        # No connection was handed out within the wait: nothing was sent.
        return Transient("no connection", maybe_committed=False)
    if not isinstance(exc, psycopg.Error):
        return None
    state = exc.sqlstate
    if state is None:
        # libpq lost the connection (reset, closed, refused): the COMMIT may have been sent.
        return Transient("connection lost", maybe_committed=True) if isinstance(exc, psycopg.OperationalError) else None
    return _transient_state(state)


def _transient_state(state: str) -> Transient | None:
    if state in NOT_COMMITTED:
        return Transient(NOT_COMMITTED[state], maybe_committed=False)
    if state in MAYBE_COMMITTED:
        return Transient(MAYBE_COMMITTED[state], maybe_committed=True)
    if state.startswith(CONNECTION_CLASS) and state != PROTOCOL_VIOLATION:
        return Transient("connection lost", maybe_committed=True)
    return None


def conninfo(settings: PostgresSettings, endpoint: Endpoint, database: str, application: str) -> str:
    verify = {"sslrootcert": str(settings.tls.root_cert)} if settings.tls.root_cert else {}
    return psycopg.conninfo.make_conninfo(
        sslmode=settings.tls.mode,
        **verify,
        host=endpoint.host,
        port=endpoint.port,
        dbname=database,
        user=settings.user,
        password=settings.password,
        connect_timeout=settings.connect_timeout,
        application_name=application,
        options=f"-c statement_timeout={settings.statement_timeout_ms}",
    )


def shard_endpoints(settings: PostgresSettings, shard: Shard) -> tuple[Endpoint, Endpoint]:
    """The shard's own HAProxy endpoints (production: a cluster per shard), else the global ones."""
    return shard.primary or settings.primary, shard.replicas or settings.replicas


def primary_dsn(settings: PostgresSettings, shard: Shard, application: str) -> str:
    """A libpq connection string to the shard's primary (for workers and migrations)."""
    return conninfo(settings, shard_endpoints(settings, shard)[0], shard.database, application)


class ShardPools:
    """The primary and replica pools of every shard database."""

    def __init__(self, settings: PostgresSettings, shards: dict[str, Shard], application: str) -> None:
        self._settings = settings
        self._primary: dict[str, AsyncConnectionPool] = {}
        self._replica: dict[str, AsyncConnectionPool] = {}
        for name, shard in shards.items():
            primary, replicas = shard_endpoints(settings, shard)
            self._primary[name] = self._pool(primary, shard.database, application, settings.primary_pool_max)
            self._replica[name] = self._pool(
                replicas, shard.database, application, settings.replica_pool_max, autocommit=True
            )

    def _pool(
        self, endpoint: Endpoint, database: str, application: str, max_size: int, autocommit: bool = False
    ) -> AsyncConnectionPool:
        return AsyncConnectionPool(
            conninfo(self._settings, endpoint, database, application),
            min_size=1,
            max_size=max_size,
            timeout=self._settings.pool_timeout,
            reconnect_timeout=self._settings.reconnect_timeout,
            # Replica reads are single statements: autocommit, no transaction left open in the pool.
            kwargs={"row_factory": dict_row, "autocommit": autocommit},
            # A pooled connection to a demoted primary is useless after a failover: check it.
            check=AsyncConnectionPool.check_connection,
            open=False,
            name=f"{database}@{endpoint.port}",
        )

    @property
    def shards(self) -> list[str]:
        return sorted(self._primary)

    async def open(self) -> None:
        # wait=False: the app starts (and reports not ready) even while the database is down.
        for pool in [*self._primary.values(), *self._replica.values()]:
            await pool.open(wait=False)

    async def close(self) -> None:
        for pool in [*self._primary.values(), *self._replica.values()]:
            await pool.close()

    @asynccontextmanager
    async def primary(self, shard: str, wait: float | None = None) -> AsyncIterator[Connection]:
        """A connection to the shard's primary, waiting at most `wait` seconds for one
        (default: postgres.pool_timeout), else PoolTimeout."""
        async with self._primary[shard].connection(timeout=wait) as conn:
            yield conn

    @asynccontextmanager
    async def replica(self, shard: str) -> AsyncIterator[Connection]:
        """A read-only connection: a replica if one can be had, else the primary."""
        pool = self._replica[shard]
        try:
            conn = await pool.getconn(timeout=min(1.0, self._settings.pool_timeout))
        except (PoolTimeout, psycopg.OperationalError) as exc:
            log.warning("replica pool of %s unavailable (%s); reading from the primary", shard, exc)
            async with self.primary(shard) as primary:
                yield primary
            return
        try:
            yield conn
        finally:
            await pool.putconn(conn)

    def stats(self) -> dict[str, dict[str, int]]:
        """Pool gauges for /metrics: {pool name: {pool_size, pool_available, requests_waiting, ...}}."""
        return {p.name: p.get_stats() for p in [*self._primary.values(), *self._replica.values()]}
