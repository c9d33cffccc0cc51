"""`roadie bench tickets`: what the ticketing app gets out of the lab, next to baselines.

1. Bookings through the load balancer (one seat each, distinct seats, C connections) vs
   pgbench's TPC-B-like transactions with the same C clients against the same primary.
2. The cached event listing on one app node vs a bare ASGI endpoint served by the same
   uvicorn on the same node (closed loop: maximum throughput, latency percentiles).
3. The listing at 70 % of its maximum throughput (open loop): the p99 a user sees there.
Every phase is bounded in time and request count, and talks to lab addresses only.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from dataclasses import dataclass

import httpx

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is a dependency; asyncio works too, slower
    uvloop = None

from app.common.settings import Settings, load_settings
from roadie.bench import pgbench
from roadie.bench.cpu import CpuMeter, CpuUse
from roadie.bench.load import LoadResult, at_rate, request_bytes, saturate
from roadie.errors import RoadieError
from roadie.lab import hosts
from roadie.lab.inventory import Lab
from roadie.services import registry

# The load generator runs on uvloop when it is installed (it is a dependency of the app): the
# client then needs less CPU per request than the servers it measures.
_run = uvloop.run if uvloop is not None else asyncio.run

BARE_PORT = 8099
SEATS_PER_EVENT = 5000
PGBENCH_SCALE = 10
LOAD_SHARE = 0.7


@dataclass(frozen=True)
class BenchConfig:
    clients: int = 32
    seconds: int = 10
    max_bookings: int = 20000
    listing_connections: int = 32


@dataclass(frozen=True)
class Latencies:
    throughput: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int

    @classmethod
    def of(cls, result: LoadResult) -> Latencies:
        return cls(
            throughput=result.throughput,
            p50_ms=result.percentile(50) * 1000,
            p95_ms=result.percentile(95) * 1000,
            p99_ms=result.percentile(99) * 1000,
            errors=result.errors + result.count(*range(500, 600)),
        )


@dataclass(frozen=True)
class TicketsBench:
    clients: int
    bookings: Latencies
    bookings_conflicted: int
    pgbench_tps: float
    listing: Latencies
    bare: Latencies
    listing_at_load: Latencies
    load_rate: float
    bookings_done: int
    bookings_cpu: CpuUse
    pgbench_cpu: CpuUse

    @property
    def database_ms(self) -> tuple[float, float]:
        """Database-tier CPU per booking and per pgbench transaction (ms)."""
        tier = "database (Patroni members)"
        per_booking = self.bookings_cpu.per_operation_ms(self.bookings_done).get(tier, 0.0)
        transactions = round(self.pgbench_tps * self.pgbench_cpu.seconds)
        return per_booking, self.pgbench_cpu.per_operation_ms(transactions).get(tier, 0.0)


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
        self.lb = registry.endpoint(lab.group("lb")[0], "loadbalancer", "http")
        app = registry.service(self.node_host, "app")
        self.settings: Settings = load_settings(hosts.on_disk(self.node_host, app.text("config")))
        self.venv = app.path("venv")

    def run(self) -> TicketsBench:
        start = self.cpu.sample()
        bookings, conflicted = self._bookings()
        bookings_cpu = self.cpu.since(start)
        start = self.cpu.sample()
        tps = self._pgbench()
        pgbench_cpu = self.cpu.since(start)
        listing = self._listing()
        bare = self._bare()
        rate = max(1.0, LOAD_SHARE * listing.throughput)
        at_load = self._listing_at(rate)
        return TicketsBench(
            clients=self.config.clients,
            bookings=Latencies.of(bookings),
            bookings_conflicted=conflicted,
            pgbench_tps=tps,
            listing=Latencies.of(listing),
            bare=Latencies.of(bare),
            listing_at_load=Latencies.of(at_load),
            load_rate=rate,
            bookings_done=bookings.completed,
            bookings_cpu=bookings_cpu,
            pgbench_cpu=pgbench_cpu,
        )

    # -- bookings vs pgbench ---------------------------------------------------------------
    def _make_events(self, seats: int) -> list[tuple[int, list[int]]]:
        city = self.settings.cities[0].id
        base = self.lb.url()
        events = []
        with httpx.Client(base_url=base, timeout=60) as http:
            for _ in range(max(1, -(-seats // SEATS_PER_EVENT))):
                body = {
                    "city_id": city,
                    "venue": "Bench Arena",
                    "title": f"bench {uuid.uuid4().hex[:8]}",
                    "starts_at": time.strftime("%Y-%m-%dT20:00:00Z", time.gmtime(time.time() + 30 * 86400)),
                    "sectors": [{"name": "A", "rows": 50, "seats_per_row": 100, "price": "10.00"}],
                }
                created = http.post("/v1/events", json=body)
                if created.status_code != 201:
                    raise RoadieError(f"could not create a bench event: {created.status_code} {created.text[:200]}")
                event_id = created.json()["id"]
                seat_map = http.get(f"/v1/events/{event_id}/seats").json()["seats"]
                events.append((event_id, [s["id"] for s in seat_map]))
        return events

    def _bookings(self) -> tuple[LoadResult, int]:
        events = self._make_events(self.config.max_bookings)
        orders = [(event_id, seat) for event_id, seats in events for seat in seats][: self.config.max_bookings]
        host = str(self.lb)
        run = uuid.uuid4().hex[:8]

        def booking(n: int) -> bytes:
            event_id, seat = orders[n]
            body = f'{{"event_id":{event_id},"seat_ids":[{seat}]}}'.encode()
            return request_bytes("POST", host, "/v1/bookings", body, {"Idempotency-Key": f"bench-{run}-{n}"})

        result = _run(
            saturate(
                self.lb.address,
                self.lb.port,
                booking,
                connections=self.config.clients,
                duration=self.config.seconds,
                max_requests=len(orders),
            )
        )
        return result, result.count(409)

    def _pgbench(self) -> float:
        pg = self.settings.postgres
        target = pgbench.PgTarget(pg.primary.host, pg.primary.port, pg.user, pg.password, "bench")
        pgbench.initialize(target, PGBENCH_SCALE)
        return pgbench.run_tpcb(target, self.config.clients, self.config.seconds)

    # -- cached listing vs bare ASGI --------------------------------------------------------
    def _listing_request(self) -> bytes:
        city = self.settings.cities[0].id
        host = str(self.node)
        return request_bytes("GET", host, f"/v1/events?city_id={city}&from=2026-01-01&to=2026-12-31&limit=20")

    def _listing(self) -> LoadResult:
        payload = self._listing_request()
        address, port = self.node.address, self.node.port
        _run(saturate(address, port, lambda _: payload, connections=1, duration=0.5))  # warm the cache
        return _run(
            saturate(
                address,
                port,
                lambda _: payload,
                connections=self.config.listing_connections,
                duration=self.config.seconds,
            )
        )

    def _bare(self) -> LoadResult:
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
            return _run(
                saturate(
                    address,
                    BARE_PORT,
                    lambda _: payload,
                    connections=self.config.listing_connections,
                    duration=self.config.seconds,
                )
            )
        finally:
            hosts.run(self.node_host, ["systemctl", "stop", f"{unit}.service"], timeout=30, check=False)

    def _listing_at(self, rate: float) -> LoadResult:
        payload = self._listing_request()
        return _run(
            at_rate(
                self.node.address,
                self.node.port,
                lambda _: payload,
                rate=rate,
                duration=self.config.seconds,
                connections=max(64, self.config.listing_connections),
            )
        )
