"""The probe workload: bounded loops of real client requests, every one recorded.

Each probe runs until it is told to stop or its deadline passes, one request per
interval; a request that does not answer within its timeout counts as failed, so a
frozen or vanished server shows up as errors, never as a hang.
"""

import asyncio
import contextlib
import time
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass

import psycopg
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff

from roadie.checker.history import READ, WRITE, Completion, Op, OpValue
from roadie.drills.outcomes import NotSent, Refused, outcome
from roadie.drills.records import Journal, Request
from roadie.services import internal_tls

REQUEST_TIMEOUT = 2.0
PROBE_TABLE = "drill_writes"
# redis-py retries failed connections with backoff by default (seconds per request).
NO_RETRY = Retry(NoBackoff(), 0)
# How long a Redis write waits for a replica's acknowledgement before it counts as failed.
REPLICA_ACK_TIMEOUT_MS = 500


class NotReplicated(Exception):
    """The master took the write but no replica acknowledged it in time: not acknowledged."""


@dataclass(frozen=True)
class PgTarget:
    host: str
    port: int
    user: str
    password: str
    dbname: str = "app"

    def conninfo(self) -> str:
        return psycopg.conninfo.make_conninfo(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=self.dbname,
            connect_timeout=2,
            application_name="roadie-drill",
        )

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"


async def _connect(target: PgTarget) -> psycopg.AsyncConnection:
    """A new autocommit connection; failing to connect means the request was never sent."""
    try:
        return await psycopg.AsyncConnection.connect(target.conninfo(), autocommit=True)
    except psycopg.Error as exc:
        raise NotSent(f"cannot connect to {target.endpoint}: {_short(exc)}") from exc


class Probe(ABC):
    """One kind of client request, repeated; subclasses do one request in `attempt`.

    Every request is journalled twice: as a latency record (`Request`), and as an operation of
    the history (invocation, then `ok`, `fail` or `info`, see roadie/drills/outcomes.py)."""

    name: str = "probe"
    kind: str = "write"
    f: str = WRITE
    # How long one request may take before it counts as failed (outcome unknown).
    timeout: float = REQUEST_TIMEOUT

    def __init__(self, journal: Journal, interval: float) -> None:
        self.journal = journal
        self.interval = interval
        self.acked: list[str] = []
        self.counter = 0

    @property
    def workload(self) -> str:
        """What the probe exercises; probes racing for the same data share one."""
        return self.name

    @property
    def node(self) -> str:
        """The endpoint the probe talks to (for the history)."""
        return ""

    def invocation(self, key: str) -> OpValue:
        """What one request is about, known before it is sent."""
        return OpValue(key=key)

    async def run(self, stop: asyncio.Event, deadline: float) -> None:
        while not stop.is_set() and time.time() < deadline:
            started, invoked = time.time(), time.monotonic()
            key = f"{self.name}-{self.counter}"
            self.counter += 1
            value = self.invocation(key)
            self.journal.op(Op(self.name, self.workload, self.f, "invoke", invoked, self.node, value=value))
            try:
                answered = await asyncio.wait_for(self.attempt(key), self.timeout)
            except Refused as exc:
                # A correct "no": the service worked, the operation was not applied.
                self._complete(value, "fail", invoked, _short(exc))
                self.journal.request(Request(self.name, self.kind, started, time.time() - started, True, key))
            except Exception as exc:
                await self.reset()
                self._complete(value, outcome(exc), invoked, _short(exc))
                self.journal.request(
                    Request(self.name, self.kind, started, time.time() - started, False, key, _short(exc))
                )
            else:
                if self.kind == "write":
                    self.acked.append(key)
                self._complete(answered or value, "ok", invoked)
                self.journal.request(Request(self.name, self.kind, started, time.time() - started, True, key))
            await asyncio.sleep(max(0.0, self.interval - (time.time() - started)))
        await self.reset()

    def _complete(self, value: OpValue, completion: Completion, invoked: float, error: str = "") -> None:
        now = time.monotonic()
        self.journal.op(Op(self.name, self.workload, self.f, completion, now, self.node, now - invoked, value, error))

    @abstractmethod
    async def attempt(self, key: str) -> OpValue | None:
        """Do one request; raise on any failure (`Refused` for a correct refusal, `NotSent` when
        nothing was sent). Return what the answer adds to the invocation's value, if anything."""

    async def reset(self) -> None:  # noqa: B027 - optional hook
        """Drop connections after a failure so the next attempt reconnects."""


class PgWriteProbe(Probe):
    """Inserts one row per request through HAProxy's read-write port; a commit that
    returned is an acknowledged write that must survive the drill."""

    name = "db-write"
    kind = "write"

    def __init__(self, journal: Journal, interval: float, target: PgTarget, run_id: str) -> None:
        super().__init__(journal, interval)
        self.target = target
        self.run_id = run_id
        self.conn: psycopg.AsyncConnection | None = None

    @property
    def node(self) -> str:
        return self.target.endpoint

    async def attempt(self, key: str) -> None:
        if self.conn is None:
            self.conn = await _connect(self.target)
        await self.conn.execute(
            f"insert into {PROBE_TABLE} (run_id, key) values (%s, %s)",
            (self.run_id, f"{self.run_id}:{key}"),
        )

    async def reset(self) -> None:
        if self.conn is not None:
            conn, self.conn = self.conn, None
            await _quietly(conn.close())


class PgReadProbe(Probe):
    """Reads through HAProxy's read-only port (replicas, or the primary when none is left)."""

    name = "db-read"
    kind = "read"
    f = READ

    def __init__(self, journal: Journal, interval: float, target: PgTarget) -> None:
        super().__init__(journal, interval)
        self.target = target
        self.conn: psycopg.AsyncConnection | None = None

    @property
    def node(self) -> str:
        return self.target.endpoint

    async def attempt(self, key: str) -> None:
        if self.conn is None:
            self.conn = await _connect(self.target)
        await (await self.conn.execute("select count(*) from pg_stat_activity")).fetchone()

    async def reset(self) -> None:
        if self.conn is not None:
            conn, self.conn = self.conn, None
            await _quietly(conn.close())


class RedisWriteProbe(Probe):
    """SETs one key per request on the master found through Sentinel, acknowledged only once
    every online replica has it (WAIT <online replicas>).

    Redis replicates asynchronously: a SET the master answered can vanish with the master when
    it loses power before a replica read it. Measured on the systemd hosts (an instant power
    loss): 1 such write per redis-master-loss run with a plain SET, and still 1 with `WAIT 1`,
    because Sentinel promotes by the replication offsets it last polled, which can pick the
    replica that did not have the write. A write every online replica holds survives any
    promotion; that is the durability Redis can give, and what "acknowledged" means here."""

    name = "redis-write"
    kind = "write"

    def __init__(
        self, journal: Journal, interval: float, sentinels: list[tuple[str, int]], secrets: dict[str, str], run_id: str
    ) -> None:
        super().__init__(journal, interval)
        self.run_id = run_id
        # No client-side retries: the probe measures what one request experiences.
        tls = internal_tls.redis_options()
        self.sentinel = Sentinel(
            sentinels,
            sentinel_kwargs={"password": secrets["sentinel"], "socket_timeout": 0.5, "retry": NO_RETRY, **tls},
            username="app",
            password=secrets["redis_app"],
            socket_timeout=1.0,
            socket_connect_timeout=1.0,
            retry=NO_RETRY,
            **tls,
        )
        self.master: aioredis.Redis = self.sentinel.master_for("roadie")

    @property
    def node(self) -> str:
        address = getattr(self.master.connection_pool, "master_address", None)  # set once Sentinel answered
        return f"{address[0]}:{address[1]}" if address else "unknown master"

    async def attempt(self, key: str) -> None:
        async with self.master.pipeline(transaction=False) as pipe:
            pipe.set(f"drill:{self.run_id}:{key}", "1", ex=3600)
            pipe.info("replication")
            _, replication = await pipe.execute()
        # Replicas still loading their first copy (a rejoining old master) cannot acknowledge yet;
        # min-replicas-to-write 1: the master took the write, so at least one replica is online.
        online = max(1, sum(1 for entry in replication.values() if _online_replica(entry)))
        acknowledged = int(await self.master.execute_command("WAIT", online, REPLICA_ACK_TIMEOUT_MS))
        if acknowledged < online:
            raise NotReplicated(f"{acknowledged} of {online} online replicas acknowledged the write in time")

    async def reset(self) -> None:
        await _quietly(self.master.connection_pool.disconnect())


def _online_replica(entry: object) -> bool:
    """An INFO replication `slaveN` entry ({'ip', 'port', 'state', ...}) of a streaming replica."""
    return isinstance(entry, dict) and entry.get("state") == "online"


class HttpProbe(Probe):
    """GETs a URL through the app load balancer."""

    kind = "read"
    f = READ

    def __init__(self, journal: Journal, interval: float, url: str, name: str = "http-read") -> None:
        super().__init__(journal, interval)
        import httpx  # noqa: PLC0415 - only app drills need it

        self.name = name
        self.url = url
        self.client = httpx.AsyncClient(timeout=REQUEST_TIMEOUT, verify=internal_tls.verify_for(url))

    @property
    def node(self) -> str:
        return self.url

    async def attempt(self, key: str) -> None:
        response = await self.client.get(self.url)
        response.raise_for_status()


async def _quietly(awaitable: object) -> None:
    """Close a connection that may already be broken; failing to close it is fine."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(awaitable, 1.0)  # type: ignore[arg-type]


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:160]


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


class AmqpPublishProbe(Probe):
    """Publishes one persistent message per request to a quorum queue, with publisher
    confirms; a confirmed message is an acknowledged write that must survive the drill.

    pika's blocking client runs in a worker thread; a request that times out abandons its
    connection (the thread finishes on its own) and the next request opens a new one,
    trying every node of the cluster in turn.
    """

    name = "amqp-publish"
    kind = "write"

    def __init__(
        self,
        journal: Journal,
        interval: float,
        *,
        nodes: list[tuple[str, int]],
        vhost: str,
        user: str,
        password: str,
        queue: str,
    ) -> None:
        super().__init__(journal, interval)
        import pika  # noqa: PLC0415 - only the RabbitMQ drill needs it

        self.pika = pika
        credentials = pika.PlainCredentials(user, password)
        self.parameters = [
            pika.ConnectionParameters(
                host,
                port,
                vhost,
                credentials,
                connection_attempts=1,
                socket_timeout=1.5,
                blocked_connection_timeout=2,
                ssl_options=internal_tls.amqp_ssl_options(host),
            )
            for host, port in nodes
        ]
        self.queue = queue
        self.channel: object | None = None
        self.connected_to = ""

    def connect(self) -> object:
        """A confirm-mode channel on the first node that accepts a connection."""
        for parameters in self.parameters:
            try:
                connection = self.pika.BlockingConnection(parameters)
            except self.pika.exceptions.AMQPConnectionError:
                continue
            self.connected_to = parameters.host
            break
        else:
            raise ConnectionError("no RabbitMQ node accepts connections")
        channel = connection.channel()
        channel.confirm_delivery()
        channel.queue_declare(self.queue, durable=True, arguments={"x-queue-type": "quorum"})
        return channel

    @property
    def node(self) -> str:
        return self.connected_to

    def _publish(self, key: str) -> None:
        if self.channel is None:
            try:
                self.channel = self.connect()
            except Exception as exc:  # nothing was published before the channel was ready
                raise NotSent(_short(exc)) from exc
        self.channel.basic_publish(  # type: ignore[attr-defined]
            "", self.queue, key.encode(), self.pika.BasicProperties(delivery_mode=2), mandatory=True
        )

    async def attempt(self, key: str) -> None:
        await asyncio.to_thread(self._publish, key)

    async def reset(self) -> None:
        self.channel = None  # the abandoned connection closes with its socket
