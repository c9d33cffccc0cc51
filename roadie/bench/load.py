"""A small HTTP/1.1 load generator: keep-alive connections over raw asyncio streams.

General-purpose clients spend more CPU per request than the servers measured here; this one
does only what the benchmark needs (fixed or generated requests, Content-Length bodies), so
on a 2-core machine the server, not the client, is what saturates (`roadie bench tickets`
cross-checks it once with wrk).

Every answer is read whole and judged (`Judge`: request number, status, body -> outcome), so a
figure counts what it claims: a booking only when the body is the booking asked for, a listing
only when the body is the listing expected. Latencies are kept for answers judged `OK` only.

Two modes:
- closed loop (`saturate`): N connections each send the next request when the previous
  answer arrives; gives the maximum throughput;
- open loop (`at_rate`): requests are due at a fixed rate whatever the server does, and the
  latency counts from when a request was due, so a stalled server shows in the percentiles
  (no coordinated omission). Requests sent later than `LATE` after they were due are counted:
  then no connection was free or the generator itself fell behind.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field

RequestFactory = Callable[[int], bytes]
Judge = Callable[[int, int, bytes], str]

OK = "ok"
TRANSPORT_ERROR = "transport error"
LATE = 0.010


def by_status(_n: int, status: int, _body: bytes) -> str:
    """The default judge: any 2xx is OK."""
    return OK if 200 <= status < 300 else f"HTTP {status}"


def request_bytes(method: str, host: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: keep-alive"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method in ("POST", "PUT"):
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class LoadResult:
    duration: float  # seconds from the first request sent to the last answer
    outcomes: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)  # seconds, answers judged OK only
    late: int = 0

    def add(self, outcome: str, latency: float) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        if outcome == OK:
            self.latencies.append(latency)

    def count(self, outcome: str) -> int:
        return self.outcomes.get(outcome, 0)

    @property
    def sent(self) -> int:
        return sum(self.outcomes.values())

    @property
    def ok(self) -> int:
        return self.count(OK)

    @property
    def not_ok(self) -> int:
        return self.sent - self.ok

    def rate(self) -> float | None:
        """OK answers per second; None when nothing was sent (the phase did not run)."""
        if self.sent == 0 or self.duration <= 0:
            return None
        return self.ok / self.duration

    def percentile_ms(self, p: float) -> float | None:
        """Latency percentile of OK answers (nearest rank); None without any."""
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
            break
    body = await reader.readexactly(length) if length else b""
    return status, body


class _Connection:
    """One keep-alive connection; over TLS when given a context (the server's certificate and the
    address dialled verified with it), the handshake once per connection, not per request."""

    def __init__(self, host: str, port: int, tls: ssl.SSLContext | None) -> None:
        self.host, self.port, self.tls = host, port, tls
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def call(self, payload: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port, ssl=self.tls)
        assert self.reader is not None
        self.writer.write(payload)
        try:
            return await _read_response(self.reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            self.close()
            raise

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _send(conn: _Connection, result: LoadResult, judge: Judge, n: int, payload: bytes, *, since: float) -> None:
    try:
        status, body = await conn.call(payload)
    except (OSError, asyncio.IncompleteReadError, ValueError):  # ssl.SSLError is an OSError
        result.add(TRANSPORT_ERROR, 0.0)
        return
    result.add(judge(n, status, body), time.perf_counter() - since)


async def saturate(
    host: str,
    port: int,
    make: RequestFactory,
    *,
    connections: int,
    duration: float,
    max_requests: int | None = None,
    judge: Judge = by_status,
    tls: ssl.SSLContext | None = None,
) -> LoadResult:
    """Closed loop: `connections` clients back to back for `duration` seconds (or max_requests)."""
    result = LoadResult(duration=duration)
    deadline = time.perf_counter() + duration
    issued = 0

    async def client() -> None:
        nonlocal issued
        conn = _Connection(host, port, tls)
        try:
            while time.perf_counter() < deadline and (max_requests is None or issued < max_requests):
                n = issued
                issued += 1
                await _send(conn, result, judge, n, make(n), since=time.perf_counter())
        finally:
            conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    result.duration = time.perf_counter() - started
    return result


async def at_rate(
    host: str,
    port: int,
    make: RequestFactory,
    *,
    rate: float,
    duration: float,
    connections: int,
    judge: Judge = by_status,
    tls: ssl.SSLContext | None = None,
) -> LoadResult:
    """Open loop: requests due every 1/rate seconds; latency from the due time."""
    result = LoadResult(duration=duration)
    total = int(rate * duration)
    start = time.perf_counter() + 0.05
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(total):
        queue.put_nowait(n)

    async def client() -> None:
        conn = _Connection(host, port, tls)
        try:
            while True:
                try:
                    n = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                due = start + n / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif delay < -LATE:
                    result.late += 1
                await _send(conn, result, judge, n, make(n), since=due)
        finally:
            conn.close()

    await asyncio.gather(*(client() for _ in range(connections)))
    result.duration = max(time.perf_counter() - start, 1e-9)
    return result
