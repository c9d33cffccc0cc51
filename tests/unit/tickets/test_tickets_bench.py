"""The benchmark's load generator: percentiles, counting by judged outcome, and real runs
against a local server (closed and open loop, plain and over TLS)."""

import asyncio
import ssl

import pytest

from roadie.bench.load import OK, TRANSPORT_ERROR, LoadResult, at_rate, request_bytes, saturate
from roadie.tls import issue
from roadie.tls_files import TlsFiles


def test_percentiles_and_rate_count_ok_answers_only():
    result = LoadResult(duration=2.0)
    for i in range(1, 101):
        result.add(OK, i / 1000)
    result.add("HTTP 409", 0.0001)  # fast refusals must not flatter the percentiles
    assert result.rate() == 50
    assert result.sent == 101 and result.not_ok == 1
    assert result.percentile_ms(50) == pytest.approx(51)
    assert result.percentile_ms(99) == pytest.approx(100)


def test_nothing_ok_or_nothing_sent_is_not_measured():
    refused = LoadResult(duration=10.0, outcomes={"HTTP 409": 500})
    assert refused.rate() == 0.0  # measured: the server confirmed nothing
    assert refused.percentile_ms(95) is None  # no latency of a confirmed answer exists
    assert LoadResult(duration=10.0).rate() is None  # the phase did not run


def test_requests_carry_a_content_length_for_bodies():
    raw = request_bytes("POST", "h:80", "/v1/bookings", b'{"a":1}', {"Idempotency-Key": "k"})
    assert raw.startswith(b"POST /v1/bookings HTTP/1.1\r\nHost: h:80\r\n")
    assert b"Content-Length: 7\r\n" in raw and raw.endswith(b'\r\n\r\n{"a":1}')


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers request i with 200 and body "ok" but every third one with 409."""
    n = 0
    while True:
        try:
            await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            break
        n += 1
        if n % 3 == 0:
            writer.write(b"HTTP/1.1 409 Conflict\r\nContent-Length: 5\r\n\r\ntaken")
        else:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
    writer.close()


def test_load_generator_against_a_local_server_judges_every_body():
    seen: list[bytes] = []

    def judge(_n: int, status: int, body: bytes) -> str:
        seen.append(body)
        return OK if status == 200 and body == b"ok" else f"HTTP {status}"

    async def main():
        server = await asyncio.start_server(_serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        payload = request_bytes("GET", f"127.0.0.1:{port}", "/")
        async with server:
            closed = await saturate(
                "127.0.0.1", port, lambda _: payload, connections=1, duration=5, max_requests=30, judge=judge
            )
            opened = await at_rate(
                "127.0.0.1", port, lambda _: payload, rate=200, duration=0.5, connections=4, judge=judge
            )
        return closed, opened

    closed, opened = asyncio.run(main())
    assert closed.outcomes == {OK: 20, "HTTP 409": 10}
    assert set(seen) == {b"ok", b"taken"}
    assert opened.sent == 100 and opened.count(TRANSPORT_ERROR) == 0
    assert opened.ok >= 60 and opened.count("HTTP 409") >= 30


def test_an_unreachable_server_is_counted_as_transport_errors():
    async def main():
        server = await asyncio.start_server(_serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        return await saturate("127.0.0.1", port, lambda _: b"", connections=2, duration=5, max_requests=6)

    result = asyncio.run(main())
    assert result.outcomes == {TRANSPORT_ERROR: 6}
    assert result.rate() == 0.0


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    """A CA with a certificate for 127.0.0.1 (as the lab's load balancer has for its address),
    and another CA with one for the same address."""
    work = tmp_path_factory.mktemp("tls-bench")
    files, other = TlsFiles(work / "tls"), TlsFiles(work / "other-tls")
    inventory = {"all": {"hosts": {"lb-1": {"roadie_address": "127.0.0.1"}}}}
    issue(files, inventory)
    issue(other, inventory)
    return files, other


def _over_tls(files: TlsFiles, client: ssl.SSLContext) -> LoadResult:
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(files.host_cert("lb-1"), files.host_key("lb-1"))

    async def main():
        server = await asyncio.start_server(_serve, "127.0.0.1", 0, ssl=server_side)
        port = server.sockets[0].getsockname()[1]
        payload = request_bytes("GET", f"127.0.0.1:{port}", "/")
        async with server:
            return await saturate(
                "127.0.0.1", port, lambda _: payload, connections=1, duration=5, max_requests=9, tls=client
            )

    return asyncio.run(main())


def test_the_load_generator_speaks_tls_verified_against_the_ca(tls_files):
    files, other = tls_files
    trusted = _over_tls(files, ssl.create_default_context(cafile=str(files.ca_cert)))
    assert trusted.outcomes == {OK: 6, "HTTP 409": 3}
    # A server whose certificate another CA signed is never sent a request.
    refused = _over_tls(other, ssl.create_default_context(cafile=str(files.ca_cert)))
    assert refused.outcomes == {TRANSPORT_ERROR: 9}
