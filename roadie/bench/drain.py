"""Background work left by a phase, and waiting until there is none (or failing loudly).

A booking leaves work behind it: the outbox relay publishes its event, the counters consumer
applies it, the replicas replay its WAL. Left running, that work lands in the next phase's
CPU window and competes with its load. Between phases the benchmark waits until:
- no outbox row of any shard is unpublished,
- every outbox row written since the phase began is in the consumer's inbox (applied),
- the counters queue holds no ready message,
- every replica of the cluster is within `REPLICA_LAG_BYTES` of the leader (Patroni's view),
and raises, naming what is left, when that does not happen within the timeout.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import pika
import psycopg
from pika.adapters.blocking_connection import BlockingChannel

from app.common.db import primary_dsn
from app.common.rabbitmq import parameters
from app.common.settings import Settings
from roadie.drills.cluster import patroni_members
from roadie.drills.endpoints import Endpoints
from roadie.errors import RoadieError
from roadie.services.patroni import ClusterMember

REPLICA_LAG_BYTES = 1 << 20
POLL = 0.2
# The consumer's inbox ids, as app.tickets.outbox.message_id writes them (a unit test checks
# the two agree): "<shard>:<outbox id>".
INBOX_ID = "%(shard)s || ':' || o.id"

Mark = dict[str, int]  # shard -> the last outbox id before a phase


@dataclass(frozen=True)
class Backlog:
    unpublished: int  # outbox rows not yet published, all shards
    unconsumed: int  # outbox rows of the phase not yet applied by the consumer
    queued: int  # ready messages in the counters queue
    replica_lag: dict[str, int | None]  # replica -> bytes behind the leader (None: unknown)

    @property
    def drained(self) -> bool:
        lags_ok = all(lag is not None and lag <= REPLICA_LAG_BYTES for lag in self.replica_lag.values())
        return self.unpublished == 0 and self.unconsumed == 0 and self.queued == 0 and lags_ok

    def describe(self) -> str:
        lags = ", ".join(f"{name} {'unknown' if lag is None else f'{lag} B'}" for name, lag in self.replica_lag.items())
        return (
            f"{self.unpublished} outbox rows unpublished, {self.unconsumed} not applied by the consumer, "
            f"{self.queued} messages queued, replica lag: {lags or 'no replica'}"
        )


def replica_lags(members: Iterable[ClusterMember]) -> dict[str, int | None]:
    """Bytes each non-leader member is behind (None: unknown), from Patroni's /cluster members."""
    return {m.name: m.lag for m in members if m.role != "leader"}


class Drain:
    def __init__(self, settings: Settings, endpoints: Endpoints) -> None:
        self._settings = settings
        self._endpoints = endpoints
        self._dsns = {
            shard: primary_dsn(settings.postgres, s, "roadie-bench-drain") for shard, s in settings.shards.items()
        }

    def mark(self) -> Mark:
        marks = {}
        for shard, dsn in self._dsns.items():
            with psycopg.connect(dsn, autocommit=True) as conn:
                marks[shard] = int(conn.execute("SELECT coalesce(max(id), 0) FROM outbox").fetchone()[0])
        return marks

    def wait(self, since: Mark, timeout: float = 90.0) -> float:
        """Seconds until the background work since `since` was done; raises when it is not.
        One connection per shard and one to the broker for the whole wait: polling must not
        itself be work in the window it closes."""
        started = time.monotonic()
        databases = {shard: psycopg.connect(dsn, autocommit=True) for shard, dsn in self._dsns.items()}
        broker = pika.BlockingConnection(parameters(self._settings.rabbitmq))
        try:
            channel = broker.channel()
            while True:
                backlog = self._backlog(databases, channel, since)
                if backlog.drained:
                    return time.monotonic() - started
                if time.monotonic() - started > timeout:
                    raise RoadieError(
                        f"background work did not drain within {timeout:.0f}s ({backlog.describe()}): "
                        "are the app's workers and the consumers running? ('roadie lab status')"
                    )
                time.sleep(POLL)
        finally:
            broker.close()
            for conn in databases.values():
                conn.close()

    def _backlog(self, databases: dict[str, psycopg.Connection], channel: BlockingChannel, since: Mark) -> Backlog:
        unpublished = unconsumed = 0
        for shard, conn in databases.items():
            unpublished += int(conn.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone()[0])
            unconsumed += int(
                conn.execute(
                    "SELECT count(*) FROM outbox o WHERE o.id > %(since)s AND NOT EXISTS "
                    f"(SELECT 1 FROM inbox i WHERE i.message_id = {INBOX_ID})",
                    {"since": since.get(shard, 0), "shard": shard},
                ).fetchone()[0]
            )
        declared = channel.queue_declare(self._settings.rabbitmq.counters_queue, passive=True)
        queued = int(declared.method.message_count)
        return Backlog(unpublished, unconsumed, queued, replica_lags(patroni_members(self._endpoints)))
