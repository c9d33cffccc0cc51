"""A Redis outage against a real redis-server (issue 16, item 9): the test starts its own server on a
127.x loopback address with a password, stops it mid-test and starts it again; supplier calls go on
in local mode meanwhile and go back to Redis when it answers.

The binary is ``$ROADIE_TEST_REDIS_SERVER`` or the ``redis-server`` `make bootstrap` installs; without
one the test fails (tests/unit/redis_binary.py). The same behaviour is shown on the in-process
stand-in in test_search_redis_fallback.py.
"""

import asyncio
import secrets
import socket
import subprocess
import time
from pathlib import Path

import pytest

from app.search.breaker import BreakerPolicy
from app.search.breaker_redis import RedisBreaker
from app.search.breaker_window import CallOutcome
from app.search.rate_limit import RedisRateLimiter, SupplierLimit
from app.search.redis_client import RedisSettings, connect
from app.search.redis_fallback import FallbackBreaker, RedisHealth
from app.search.rendezvous import Node
from tests.unit.redis_binary import redis_server

ADDRESS = "127.77.0.1"
NODES = [Node(f"app-{i}") for i in (1, 2, 3)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((ADDRESS, 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """A redis-server of this test only: loopback address, password, no persistence."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.password = secrets.token_hex(16)
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = [redis_server(), "--bind", ADDRESS, "--port", str(self.port), "--requirepass", self.password,
                "--save", "", "--appendonly", "no", "--dir", str(self.workdir)]  # fmt: skip
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex((ADDRESS, self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not listen on {ADDRESS}:{self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def server(tmp_path):
    redis = RedisServer(tmp_path)
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


def test_supplier_calls_survive_a_redis_outage_and_return_to_redis(server):
    asyncio.run(_outage(server))


async def _outage(server: RedisServer) -> None:
    client = connect(RedisSettings(url=f"redis://{ADDRESS}:{server.port}/0", password=server.password))
    limit = SupplierLimit(calls=6, per=0.5)  # 2 per node per window while Redis is down
    health = RedisHealth(probe_interval=0.2)
    limiter = RedisRateLimiter(client, {"s": limit}, prefix="t:rl", health=health, node="app-1", nodes=NODES)
    breaker = FallbackBreaker(RedisBreaker(client, "s", BreakerPolicy(), prefix="t:br"), health)
    try:
        await limiter.acquire("s", timeout=1)
        assert await breaker.allow()
        await breaker.record_call(CallOutcome.SUCCESS, 1, 0)
        assert await client.zcard(limiter.key("s")) == 1, "shared mode: the admission is in Redis"

        server.stop()  # the outage
        started = time.monotonic()
        await limiter.acquire("s", timeout=2)  # waits out the hold-off, then takes the local share
        held = time.monotonic() - started
        assert health.local, "local mode"
        assert held >= limit.window - 0.05, "the first local call waits one window after the outage began"
        await limiter.acquire("s", timeout=2)
        assert limiter.shares["s"] == 2 and await limiter.used("s") == 2
        assert await breaker.allow(), "the local breaker admits: not every call fails"
        await breaker.record_call(CallOutcome.SUCCESS, 1, 0)  # recorded locally, no error

        server.start()  # Redis is back, empty (no persistence)
        await asyncio.sleep(health.probe_interval)
        await limiter.acquire("s", timeout=2)
        assert not health.local, "a probe found Redis: shared mode again"
        assert await client.zcard(limiter.key("s")) >= 3, "the local calls were handed over, then this one"
        assert await breaker.allow() and breaker.shared.last_state is not None
    finally:
        await client.aclose()
