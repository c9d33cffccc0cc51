"""PostgreSQL connection pools, one pair per shard database, all through HAProxy.

`primary(shard)` reaches the Patroni primary (HAProxy read-write port): bookings and anything
that must see the latest committed state. `replica(shard)` reaches a streaming replica
(read-only port) for eventually consistent reads, and falls back to the primary pool when no
replica answers (HAProxy does the same when its replica pool is empty; this covers HAProxy's
read-only port itself being unreachable).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from app.common.settings import Endpoint, PostgresSettings, Shard

log = logging.getLogger(__name__)

Connection = psycopg.AsyncConnection[dict]


def conninfo(settings: PostgresSettings, endpoint: Endpoint, database: str, application: str) -> str:
    return psycopg.conninfo.make_conninfo(
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
    async def primary(self, shard: str) -> AsyncIterator[Connection]:
        async with self._primary[shard].connection() as conn:
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
