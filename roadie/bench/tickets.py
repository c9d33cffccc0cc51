"""`roadie bench tickets`: what the ticketing app gets out of the lab, next to what the database
alone does with the same work, and the goals of issue 15 beside the figures.

Phases, in order (every one bounded in time and requests, lab addresses only):
0. idle: the machine's CPU with no load (context for every window below);
1. bookings, closed loop: `clients` connections through the load balancer, one distinct seat
   per request; warm-up, drain, then the measured run; a booking counts only when the answer
   is the booking asked for (409s, other refusals, 5xx counted apart);
2. bookings, open loop at 70 % of phase 1's confirmed rate: p95/p99 from when each was due;
3. the booking transaction's own SQL under pgbench (`booking_sql.py`), same clients, same
   primary, same user and session settings; warm-up, then the measured run;
4. pgbench tpcb-like at scale = clients (a familiar reference); warm-up, then measured;
5. the cached listing of the bench's own events on one app node (its body checked against
   the database first, every answer compared with it) vs a bare ASGI endpoint on the same
   uvicorn and node: closed loop, then each at 70 % of its own maximum (open loop); the
   listing once more with wrk.
Set-up (events, seats, schemas, `pgbench -i`) and warm-ups happen before a CPU window opens;
a window closes when its phase's background work (outbox relay, consumers, replication) has
drained, checked, so each phase's CPU is its own, divided by the operations it counted.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is a dependency; asyncio works too, slower
    uvloop = None

from app.common.db import primary_dsn, shard_endpoints
from app.common.settings import Settings
from app.tickets.shards import ShardMap
from roadie.apiauth import ApiCredentials
from roadie.bench import booking_sql, pgbench, wrk
from roadie.bench.bare import BODY as BARE_BODY
from roadie.bench.cpu import CpuMeter, CpuUse
from roadie.bench.drain import Drain
from roadie.bench.goals import share_of
from roadie.bench.load import LoadResult, at_rate, request_bytes, saturate
from roadie.bench.outcomes import BookingJudge, ListingJudge, listing_problems
from roadie.drills.endpoints import discover
from roadie.errors import RoadieError
from roadie.lab import hosts
from roadie.lab.app_settings import app_settings
from roadie.lab.inventory import Lab
from roadie.services import internal_tls, registry

# The load generator runs on uvloop when it is installed (it is a dependency of the app): the
# client then needs less CPU per request than the servers it measures.
_run = uvloop.run if uvloop is not None else asyncio.run

BARE_PORT = 8099
SEATS_PER_EVENT = 5000
EVENT_DAYS_AHEAD = 30
LISTING_LIMIT = 20
IDLE_SECONDS = 3
# Events and seats, the booking-SQL schema, vacuuming pgbench's tables, the bare endpoint's start
# and the drains between phases: an estimate for the progress message, not a measurement.
SETUP_SECONDS = 60
# Seats made for each pgbench run of the booking SQL: its rate could not exceed this many
# transactions per second without running out (which the check after the run would report).
BOOKING_SQL_MAX_TPS = 10_000


@dataclass(frozen=True)
class BenchConfig:
    clients: int = 32
    seconds: int = 10
    warmup: int = 3
    max_bookings: int = 20000
    listing_connections: int = 32

    @property
    def open_loop_connections(self) -> int:
        # Enough that a request never waits for a free connection at the rates measured here.
        return max(64, 2 * self.clients, 2 * self.listing_connections)

    def expected_seconds(self) -> int:
        """About how long a run takes: idle, loads and warm-ups, plus SETUP_SECONDS (the first
        run's `pgbench -i` comes on top)."""
        loads = 9  # bookings closed + open, booking SQL, tpcb-like, listing and bare closed + open, wrk
        warmups = 5  # bookings, booking SQL, tpcb-like, listing, bare
        return IDLE_SECONDS + loads * self.seconds + warmups * self.warmup + SETUP_SECONDS


@dataclass(frozen=True)
class Phase:
    """A measured phase: what the load counted, and the CPU of its window."""

    load: LoadResult
    cpu: CpuUse
    drained_in: float  # seconds from the end of the load until its background work was done


@dataclass(frozen=True)
class SqlPhase:
    run: pgbench.PgbenchRun
    cpu: CpuUse
    drained_in: float


@dataclass(frozen=True)
class Serving:
    """One endpoint's reads: its closed-loop maximum, and the open loop at 70 % of it."""

    closed: LoadResult
    rate_asked: float | None  # None: no maximum measured, so no open loop
    at_load: LoadResult | None


@dataclass(frozen=True)
class TicketsBench:
    config: BenchConfig
    idle: CpuUse
    bookings: Phase
    app_connections: int  # the app's connections to the booking shard's primary after phase 1
    booking_rate_asked: float | None
    bookings_at_load: LoadResult | None
    booking_sql: SqlPhase
    tpcb: SqlPhase
    tpcb_scale: int
    synchronous_commit: str
    listing: Serving
    bare: Serving
    wrk: wrk.WrkResult | None


def _wait_for_port(address: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RoadieError(f"nothing listens on {address}:{port} after {timeout}s")


class TicketsBenchmark:
    def __init__(self, lab: Lab, config: BenchConfig) -> None:
        self.config = config
        self.cpu = CpuMeter(lab)
        self.node_host = lab.group("app")[0]
        self.node = registry.endpoint(self.node_host, "app", "http")
        self.lb = registry.endpoint(lab.group("lb")[0], "loadbalancer", "https")
        app = registry.service(self.node_host, "app")
        self.settings: Settings = app_settings(self.node_host)
        self.venv = app.path("venv")
        self.drain = Drain(self.settings, discover(lab))
        self.city = self.settings.cities[0]
        self.shard = self.city.shard
        self.shard_number = ShardMap.from_settings(self.settings).number(self.shard)
        self.day = datetime.now(UTC).date() + timedelta(days=EVENT_DAYS_AHEAD)
        self.run_id = uuid.uuid4().hex[:8]
        self.events: list[int] = []

    def run(self) -> TicketsBench:
        self.drain.wait(self.drain.mark())  # start from a quiet platform
        idle = self._idle()
        bookings, connections = self._bookings()
        rate = share_of(bookings.load.rate())
        at_load = self._bookings_at(rate) if rate is not None else None
        sync_commit = self._same_synchronous_commit()
        booking_sql_phase = self._booking_sql()
        scale = max(1, self.config.clients)
        tpcb = self._tpcb(scale)
        listing, bare, checked = self._listing_phases()
        return TicketsBench(
            config=self.config,
            idle=idle,
            bookings=bookings,
            app_connections=connections,
            booking_rate_asked=rate,
            bookings_at_load=at_load,
            booking_sql=booking_sql_phase,
            tpcb=tpcb,
            tpcb_scale=scale,
            synchronous_commit=sync_commit,
            listing=listing,
            bare=bare,
            wrk=checked,
        )

    # -- windows ---------------------------------------------------------------------------
    def _idle(self) -> CpuUse:
        setup_done = time.monotonic()
        start = self.cpu.sample()
        time.sleep(IDLE_SECONDS)
        return self.cpu.since(start, setup_done=setup_done)

    def _window(self, work: Callable[[], Any]) -> tuple[Any, CpuUse, float]:
        """Run `work` in a CPU window that opens after the caller's set-up and closes once the
        background work it caused has drained (checked)."""
        mark = self.drain.mark()
        setup_done = time.monotonic()
        start = self.cpu.sample()
        result = work()
        drained_in = self.drain.wait(mark)
        return result, self.cpu.since(start, setup_done=setup_done), drained_in

    # -- bookings through the load balancer --------------------------------------------------
    def _make_events(self, seats: int) -> list[tuple[int, int]]:
        """(event, seat) of at least `seats` distinct available seats of new bench events."""
        base = self.lb.url()
        found: list[tuple[int, int]] = []
        operator = ApiCredentials(self.settings.auth).operator_headers()
        with httpx.Client(base_url=base, timeout=60, headers=operator, verify=internal_tls.verify_for(base)) as http:
            for _ in range(max(1, -(-seats // SEATS_PER_EVENT))):
                body = {
                    "city_id": self.city.id,
                    "venue": "Bench Arena",
                    "title": f"bench {self.run_id}",
                    "starts_at": f"{self.day.isoformat()}T20:00:00Z",
                    "sectors": [{"name": "A", "rows": 50, "seats_per_row": 100, "price": booking_sql.PRICE}],
                }
                created = http.post("/v1/events", json=body)
                if created.status_code != 201:
                    raise RoadieError(f"could not create a bench event: {created.status_code} {created.text[:200]}")
                event_id = created.json()["id"]
                self.events.append(event_id)
                seat_map = http.get(f"/v1/events/{event_id}/seats").json()["seats"]
                found += [(event_id, s["id"]) for s in seat_map if s["status"] == "available"]
        return found

    def _booking_load(self, orders: list[tuple[int, int]]) -> tuple[Callable[[int], bytes], BookingJudge]:
        """Request n buys the one seat of orders[n], with a key of its own."""
        host = str(self.lb)
        run = uuid.uuid4().hex[:8]
        with httpx.Client(base_url=self.lb.url(), timeout=10, verify=internal_tls.verify_for(self.lb.url())) as http:
            session = ApiCredentials(self.settings.auth).open_session(http, f"bench-{run}")

        def booking(n: int) -> bytes:
            event_id, seat = orders[n]
            body = f'{{"event_id":{event_id},"seat_ids":[{seat}]}}'.encode()
            return request_bytes("POST", host, "/v1/bookings", body, {"Idempotency-Key": f"bench-{run}-{n}", **session})

        return booking, BookingJudge([seat for _, seat in orders])

    def _lb_tls(self) -> ssl.SSLContext | None:
        """How the load generator reaches the load balancer: TLS verified against the internal CA
        (its connections are kept alive, so the handshake is paid once per connection)."""
        return internal_tls.http_verify() if self.lb.scheme == "https" else None

    def _closed_bookings(self, orders: list[tuple[int, int]], seconds: float) -> LoadResult:
        make, judge = self._booking_load(orders)
        address, port = self.lb.address, self.lb.port
        return _run(
            saturate(
                address,
                port,
                make,
                connections=self.config.clients,
                duration=seconds,
                max_requests=len(orders),
                judge=judge,
                tls=self._lb_tls(),
            )
        )

    def _bookings(self) -> tuple[Phase, int]:
        cap = self.config.max_bookings
        warm_orders = self._make_events(cap * self.config.warmup // self.config.seconds)
        orders = self._make_events(cap)[:cap]
        self._closed_bookings(warm_orders, self.config.warmup)
        self.drain.wait(self.drain.mark())
        load, cpu, drained_in = self._window(lambda: self._closed_bookings(orders, self.config.seconds))
        return Phase(load, cpu, drained_in), self._app_connections()

    def _bookings_at(self, rate: float) -> LoadResult:
        orders = self._make_events(int(rate * self.config.seconds) + 1)
        make, judge = self._booking_load(orders)
        self.drain.wait(self.drain.mark())
        load, _, _ = self._window(
            lambda: _run(
                at_rate(
                    self.lb.address,
                    self.lb.port,
                    make,
                    rate=rate,
                    duration=self.config.seconds,
                    connections=self.config.open_loop_connections,
                    judge=judge,
                    tls=self._lb_tls(),
                )
            )
        )
        return load

    def _shard_dsn(self) -> str:
        return primary_dsn(self.settings.postgres, self.settings.shards[self.shard], "roadie-bench")

    def _app_connections(self) -> int:
        """The app's connections to the booking shard's primary (its pools keep them open)."""
        with psycopg.connect(self._shard_dsn(), autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE %s",
                ("roadie-app@%",),
            ).fetchone()
        return int(row[0])

    # -- the database alone: pgbench ---------------------------------------------------------
    def _target(self, options: dict[str, str] | None = None) -> pgbench.PgTarget:
        pg = self.settings.postgres
        primary = shard_endpoints(pg, self.settings.shards[self.shard])[0]
        session = {"statement_timeout": str(pg.statement_timeout_ms), **(options or {})}
        return pgbench.PgTarget(primary.host, primary.port, pg.user, pg.password, "bench", session)

    def _same_synchronous_commit(self) -> str:
        """synchronous_commit as the app's sessions and pgbench's see it: must be the same."""
        with psycopg.connect(self._shard_dsn(), autocommit=True) as conn:
            app = str(conn.execute("SHOW synchronous_commit").fetchone()[0])
        with self._target().connect() as conn:
            bench = str(conn.execute("SHOW synchronous_commit").fetchone()[0])
        if app != bench:
            raise RoadieError(f"synchronous_commit differs: app database {app}, bench database {bench}")
        return app

    def _pgbench_phase(
        self, target: pgbench.PgTarget, script: Path | None, defines: list[dict[str, str]]
    ) -> tuple[pgbench.PgbenchRun, CpuUse, float]:
        """Warm-up run with defines[0], drain, then the measured run with defines[-1]."""
        clients, seconds = self.config.clients, self.config.seconds
        pgbench.run(target, clients=clients, seconds=self.config.warmup, script=script, defines=defines[0])
        self.drain.wait(self.drain.mark())
        return self._window(
            lambda: pgbench.run(target, clients=clients, seconds=seconds, script=script, defines=defines[-1])
        )

    def _booking_sql(self) -> SqlPhase:
        target = self._target({"search_path": booking_sql.SCHEMA})
        sizes = [BOOKING_SQL_MAX_TPS * self.config.warmup, BOOKING_SQL_MAX_TPS * self.config.seconds]
        with target.for_setup().connect() as conn:
            ranges = booking_sql.prepare(conn, number=self.shard_number, ranges=sizes)
        defines = [r.defines(clients=self.config.clients, shard=self.shard, number=self.shard_number) for r in ranges]
        with tempfile.TemporaryDirectory(prefix="roadie-bench-") as tmp:
            script = Path(tmp) / "booking.sql"
            script.write_text(booking_sql.script())
            run, cpu, drained_in = self._pgbench_phase(target, script, defines)
        with target.connect() as conn:
            sold, bookings = booking_sql.sold(conn, ranges[-1])
        if not sold == bookings == run.transactions:
            raise RoadieError(
                f"pgbench processed {run.transactions} booking transactions but sold {sold} seats in "
                f"{bookings} bookings: the script did not book one new seat each (out of seats?)"
            )
        return SqlPhase(run, cpu, drained_in)

    def _tpcb(self, scale: int) -> SqlPhase:
        target = self._target()
        pgbench.prepare_tpcb(target, scale)
        self.drain.wait(self.drain.mark())
        run, cpu, drained_in = self._pgbench_phase(target, None, [{}])
        return SqlPhase(run, cpu, drained_in)

    # -- cached listing vs bare ASGI ---------------------------------------------------------
    def _listing_path(self) -> str:
        day = self.day.isoformat()
        return f"/v1/events?city_id={self.city.id}&from={day}&to={day}&limit={LISTING_LIMIT}"

    def _listing_truth(self) -> list[int]:
        """The ids the listing must show: the city's active events of the day, in date order (the
        day's bounds passed as dates, as the app passes them, so the server's time zone applies alike)."""
        with psycopg.connect(self._shard_dsn(), autocommit=True) as conn:
            rows = conn.execute(
                "SELECT id FROM events WHERE city_id = %s AND status = 'active' AND event_date >= %s "
                "AND event_date < %s ORDER BY event_date, id LIMIT %s",
                (self.city.id, self.day, self.day + timedelta(days=1), LISTING_LIMIT),
            ).fetchall()
        return [r[0] for r in rows]

    def _checked_listing(self) -> bytes:
        """One listing, checked against the database: the body every answer must then equal."""
        url = self.node.url(self._listing_path())
        answer = httpx.get(url, timeout=10)
        if answer.status_code != 200:
            raise RoadieError(f"the listing answered {answer.status_code}: {answer.text[:200]}")
        problems = listing_problems(
            answer.content,
            city_id=self.city.id,
            day=self.day,
            limit=LISTING_LIMIT,
            truth=self._listing_truth(),
            own=self.events,
        )
        if problems:
            raise RoadieError("the listing is not the events asked for: " + "; ".join(problems))
        return answer.content

    def _listing_phases(self) -> tuple[Serving, Serving, wrk.WrkResult | None]:
        address, port = self.node.address, self.node.port
        expected = self._checked_listing()
        payload = request_bytes("GET", f"{address}:{port}", self._listing_path())
        listing = self._serving(address, port, payload, ListingJudge(expected))
        bare = self._bare()
        checked = wrk.run(
            f"http://{address}:{port}{self._listing_path()}",
            connections=self.config.listing_connections,
            seconds=self.config.seconds,
        )
        return listing, bare, checked

    def _serving(self, address: str, port: int, payload: bytes, judge: ListingJudge) -> Serving:
        """Warm-up, the closed-loop maximum, then the open loop at 70 % of it."""
        connections, seconds = self.config.listing_connections, self.config.seconds
        _run(saturate(address, port, lambda _: payload, connections=connections, duration=self.config.warmup))
        closed = _run(
            saturate(address, port, lambda _: payload, connections=connections, duration=seconds, judge=judge)
        )
        rate = share_of(closed.rate())
        if rate is None:
            return Serving(closed, None, None)
        at_load = _run(
            at_rate(
                address,
                port,
                lambda _: payload,
                rate=rate,
                duration=seconds,
                connections=self.config.open_loop_connections,
                judge=judge,
            )
        )
        return Serving(closed, rate, at_load)

    def _bare(self) -> Serving:
        """The bare ASGI endpoint on the app node itself, from the app's venv (same host, same
        Python and server), as a transient unit of the node's systemd."""
        address = self.node.address
        unit = f"roadie-bench-bare-{BARE_PORT}"
        command = [
            "systemd-run", f"--unit={unit}", "--collect", "--uid=nobody",
            str(self.venv / "bin" / "uvicorn"), "roadie.bench.bare:app", "--host", address, "--port", str(BARE_PORT),
            "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--lifespan", "off", "--log-level", "warning",
        ]  # fmt: skip
        hosts.run(self.node_host, command, timeout=30)
        try:
            _wait_for_port(address, BARE_PORT, 20)
            payload = request_bytes("GET", f"{address}:{BARE_PORT}", "/")
            return self._serving(address, BARE_PORT, payload, ListingJudge(BARE_BODY))
        finally:
            hosts.run(self.node_host, ["systemctl", "stop", f"{unit}.service"], timeout=30, check=False)
