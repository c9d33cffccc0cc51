"""The benchmark's pure parts: pgbench output, percentiles, the load generator on a local server."""

import asyncio

import pytest

from roadie.bench.load import LoadResult, at_rate, request_bytes, saturate
from roadie.bench.pgbench import parse_tps
from roadie.errors import RoadieError

PGBENCH_OUTPUT = """
number of transactions actually processed: 24600
latency average = 13.010 ms
initial connection time = 31.2 ms
tps = 2459.723738 (without initial connection time)
"""


def test_pgbench_tps_is_read_from_its_output():
    assert parse_tps(PGBENCH_OUTPUT) == pytest.approx(2459.723738)
    with pytest.raises(RoadieError):
        parse_tps("nothing useful")


def test_percentiles_and_throughput():
    result = LoadResult(duration=2.0, latencies=[i / 1000 for i in range(1, 101)], statuses={200: 100})
    assert result.throughput == 50
    assert result.percentile(50) == pytest.approx(0.051)
    assert result.percentile(99) == pytest.approx(0.1)


def test_requests_carry_a_content_length_for_bodies():
    raw = request_bytes("POST", "h:80", "/v1/bookings", b'{"a":1}', {"Idempotency-Key": "k"})
    assert raw.startswith(b"POST /v1/bookings HTTP/1.1\r\nHost: h:80\r\n")
    assert b"Content-Length: 7\r\n" in raw and raw.endswith(b'\r\n\r\n{"a":1}')


def test_load_generator_against_a_local_server():
    async def handle(reader, writer):
        while True:
            try:
                await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
        writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        payload = request_bytes("GET", f"127.0.0.1:{port}", "/")
        async with server:
            closed = await saturate("127.0.0.1", port, lambda _: payload, connections=4, duration=0.3)
            opened = await at_rate("127.0.0.1", port, lambda _: payload, rate=200, duration=0.5, connections=4)
        return closed, opened

    closed, opened = asyncio.run(main())
    assert closed.completed > 50 and closed.statuses.keys() == {200}
    assert opened.completed == 100 and opened.errors == 0
