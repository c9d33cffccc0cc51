"""A small HTTP/1.1 load generator: keep-alive connections over raw asyncio streams.

General-purpose clients spend more CPU per request than the servers measured here; this one
does only what the benchmark needs (fixed or generated requests, Content-Length bodies), so
on a 2-core machine the server, not the client, is what saturates.

Two modes:
- closed loop (`saturate`): N connections each send the next request when the previous
  answer arrives; gives the maximum throughput;
- open loop (`at_rate`): requests are due at a fixed rate whatever the server does, and the
  latency counts from when a request was due, so a stalled server shows in the percentiles
  (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

RequestFactory = Callable[[int], bytes]


def request_bytes(method: str, host: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: keep-alive"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method in ("POST", "PUT"):
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class LoadResult:
    duration: float
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0

    @property
    def completed(self) -> int:
        return sum(self.statuses.values())

    @property
    def throughput(self) -> float:
        return self.completed / self.duration if self.duration else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    def count(self, *statuses: int) -> int:
        return sum(self.statuses.get(s, 0) for s in statuses)


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
            break
    if length:
        await reader.readexactly(length)
    return status


class _Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def call(self, payload: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
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


async def saturate(
    host: str, port: int, make: RequestFactory, *, connections: int, duration: float, max_requests: int | None = None
) -> LoadResult:
    """Closed loop: `connections` clients back to back for `duration` seconds (or max_requests)."""
    result = LoadResult(duration=duration)
    deadline = time.perf_counter() + duration
    issued = 0

    async def client() -> None:
        nonlocal issued
        conn = _Connection(host, port)
        try:
            while time.perf_counter() < deadline and (max_requests is None or issued < max_requests):
                n = issued
                issued += 1
                start = time.perf_counter()
                try:
                    status = await conn.call(make(n))
                except (OSError, asyncio.IncompleteReadError):
                    result.errors += 1
                    continue
                result.statuses[status] = result.statuses.get(status, 0) + 1
                if status < 500:
                    result.latencies.append(time.perf_counter() - start)
        finally:
            conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    result.duration = time.perf_counter() - started
    return result


async def at_rate(
    host: str, port: int, make: RequestFactory, *, rate: float, duration: float, connections: int
) -> LoadResult:
    """Open loop: requests due every 1/rate seconds; latency from the due time."""
    result = LoadResult(duration=duration)
    total = int(rate * duration)
    start = time.perf_counter() + 0.05
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(total):
        queue.put_nowait(n)

    async def client() -> None:
        conn = _Connection(host, port)
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
                try:
                    status = await conn.call(make(n))
                except (OSError, asyncio.IncompleteReadError):
                    result.errors += 1
                    continue
                result.statuses[status] = result.statuses.get(status, 0) + 1
                if status < 500:
                    result.latencies.append(time.perf_counter() - due)
        finally:
            conn.close()

    await asyncio.gather(*(client() for _ in range(connections)))
    result.duration = max(time.perf_counter() - start, 1e-9)
    return result
