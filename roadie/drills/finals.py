"""After healing, read back everything the drill's writes may have left: the set and per-seat
checkers compare these final reads with the history."""

import psycopg
import redis

from roadie.checker.drill import FinalReads
from roadie.checker.history import WRITES
from roadie.checker.seats import LiveBooking
from roadie.checker.sets import check_set
from roadie.drills import cluster, tickets
from roadie.drills.base import DrillContext
from roadie.drills.probes import PROBE_TABLE, AmqpPublishProbe, PgWriteProbe, Probe, RedisWriteProbe
from roadie.services import internal_tls

MGET_BATCH = 500


def final_reads(ctx: DrillContext, probes: list[Probe]) -> FinalReads:
    """Every write probe's elements as the healed cluster has them, and the drill event's
    confirmed bookings. Draining the RabbitMQ queue deletes it: read once per drill."""
    elements: dict[str, frozenset[str]] = {}
    live: tuple[LiveBooking, ...] = ()
    for probe in probes:
        if isinstance(probe, PgWriteProbe):
            elements[probe.workload] = _pg_rows(ctx)
        elif isinstance(probe, RedisWriteProbe):
            elements[probe.workload] = _redis_keys(ctx, probe)
        elif isinstance(probe, AmqpPublishProbe):
            elements[probe.workload] = _messages(probe)
        elif isinstance(probe, tickets.BookingProbe) and probe.workload not in elements:
            databases = tickets.shard_databases(ctx.lab)
            elements[probe.workload], live = tickets.read_bookings(ctx.pg("primary"), databases, probe.event_id)
    return FinalReads(elements, live)


def lost_writes(ctx: DrillContext, probes: list[Probe]) -> dict[str, int]:
    """Acknowledged writes that the healed cluster no longer has, per write probe."""
    # The history first: a write acknowledged after the final read must not count as lost.
    history = list(ctx.journal.history)
    finals = final_reads(ctx, probes)
    return {
        workload: len(check_set(history, present, workload).lost)
        for workload, present in finals.elements.items()
        if workload != tickets.BOOKINGS
    }


def _pg_rows(ctx: DrillContext) -> frozenset[str]:
    prefix = f"{ctx.run_id}:"
    with psycopg.connect(ctx.pg("primary").conninfo()) as conn:
        rows = conn.execute(f"select key from {PROBE_TABLE} where run_id = %s", (ctx.run_id,)).fetchall()
    return frozenset(r[0].removeprefix(prefix) for r in rows)


def _redis_keys(ctx: DrillContext, probe: RedisWriteProbe) -> frozenset[str]:
    """The probe's keys still on the master. Only keys it invoked are asked for (the app user
    may not SCAN), so for Redis the set checker cannot see an unexpected key."""
    master = cluster.redis_master(ctx.endpoints, ctx.secrets)
    address, port = ctx.endpoints.redis_members[master or ""]
    client = redis.Redis(
        host=address, port=port, username="app", password=ctx.secrets["redis_app"], **internal_tls.redis_options()
    )
    invoked = sorted({op.value.key for op in ctx.journal.history if op.workload == probe.workload and op.f in WRITES})
    present: set[str] = set()
    for start in range(0, len(invoked), MGET_BATCH):
        batch = invoked[start : start + MGET_BATCH]
        values = client.mget([f"drill:{probe.run_id}:{key}" for key in batch])
        present.update(key for key, value in zip(batch, values, strict=True) if value is not None)
    return frozenset(present)


def _messages(probe: AmqpPublishProbe) -> frozenset[str]:
    """Drain the drill's queue: every message body is the key it was published with."""
    channel = probe.connect()
    seen = set()
    while True:
        method, _, body = channel.basic_get(probe.queue, auto_ack=True)  # type: ignore[attr-defined]
        if method is None:
            break
        seen.add(body.decode())
    channel.queue_delete(probe.queue)  # type: ignore[attr-defined]
    return frozenset(seen)
