"""The app's and the search's Redis clients against a real TLS-only Redis and Sentinel, as the
environment runs them (`port 0`, `tls-port`, `tls-auth-clients no`: no client certificate, an
ACL user and password): they reach the master through the Sentinel with the internal CA, and
fail with a certificate from another CA or one that does not name the address dialled.

The test makes a throwaway CA and host certificate with roadie/tls.py and starts its own
redis-server and Sentinel on 127.78.0.1 (each also listens on 127.78.0.2, which the certificate
does not name). The binary is ``$ROADIE_TEST_REDIS_SERVER`` or ``redis-server`` on the PATH;
without one the test is skipped.
"""

import asyncio
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from app.common import redis as app_redis
from app.common.settings import Endpoint, RedisSettings, ServerTls
from app.search import redis_client as search_redis
from roadie.tls import issue
from roadie.tls_files import TlsFiles
from tests.unit.redis_binary import redis_server

ADDRESS = "127.78.0.1"  # what the certificate names
UNNAMED = "127.78.0.2"  # where the servers listen too, not in the certificate
MASTER = "roadie"
# The same master, as the Sentinel reports it under this name: at the address not named.
MASTER_UNNAMED = "roadie-unnamed"


@dataclass(frozen=True)
class TlsRedis:
    ca: Path
    other_ca: Path
    port: int
    sentinel_port: int
    password: str
    sentinel_password: str


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((ADDRESS, 0))
        return int(probe.getsockname()[1])


def wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited: {log.read_text()[-2000:]}")
        with socket.socket() as probe:
            if probe.connect_ex((ADDRESS, port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"redis-server did not listen on {ADDRESS}:{port}: {log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory) -> Iterator[TlsRedis]:
    work = tmp_path_factory.mktemp("tls-redis")
    files, other = TlsFiles(work / "tls"), TlsFiles(work / "other-tls")
    issue(files, {"all": {"hosts": {"cache-1": {"roadie_address": ADDRESS}}}})
    issue(other, {"all": {"hosts": {"cache-1": {"roadie_address": ADDRESS}}}})
    passwords = secrets.token_hex(16), secrets.token_hex(8)
    server = TlsRedis(files.ca_cert, other.ca_cert, free_port(), free_port(), *passwords)
    tls = [
        f"bind {ADDRESS} {UNNAMED}",
        "port 0",
        f"tls-cert-file {files.host_cert('cache-1')}",
        f"tls-key-file {files.host_key('cache-1')}",
        f"tls-ca-cert-file {files.ca_cert}",
        "tls-auth-clients no",
        "tls-replication yes",  # the Sentinel reaches the master over TLS too
        f"dir {work}",
    ]
    redis_conf = work / "redis.conf"
    redis_lines = [f"tls-port {server.port}", 'save ""', "appendonly no", f"user app on >{server.password} ~* &* +@all"]
    redis_conf.write_text("\n".join([*tls, *redis_lines, ""]))
    sentinel_conf = work / "sentinel.conf"
    sentinel_lines = [
        f"tls-port {server.sentinel_port}",
        f"requirepass {server.sentinel_password}",
        f"sentinel monitor {MASTER} {ADDRESS} {server.port} 1",
        f"sentinel monitor {MASTER_UNNAMED} {UNNAMED} {server.port} 1",
    ]
    sentinel_conf.write_text("\n".join([*tls, *sentinel_lines, ""]))
    started: list[subprocess.Popen[bytes]] = []
    try:
        for conf, port, extra in ((redis_conf, server.port, []), (sentinel_conf, server.sentinel_port, ["--sentinel"])):
            log = work / f"{conf.stem}.log"
            with log.open("wb") as out:
                process = subprocess.Popen([redis_server(), str(conf), *extra], stdout=out, stderr=subprocess.STDOUT)
            started.append(process)
            wait_listening(port, process, log)
        yield server
    finally:
        for process in started:  # only the servers this fixture started, by their PID
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def app_settings(server: TlsRedis, ca: Path, sentinel: str = ADDRESS, master: str = MASTER) -> RedisSettings:
    return RedisSettings(
        sentinels=[Endpoint(host=sentinel, port=server.sentinel_port)],
        master_name=master,
        sentinel_password=server.sentinel_password,
        user="app",
        password=server.password,
        tls=ServerTls(root_cert=ca),
        socket_timeout=2,
    )


def search_settings(
    server: TlsRedis, ca: Path, sentinel: str = ADDRESS, master: str = MASTER
) -> search_redis.RedisSettings:
    return search_redis.RedisSettings(
        sentinels=((sentinel, server.sentinel_port),),
        service=master,
        username="app",
        password=server.password,
        sentinel_password=server.sentinel_password,
        socket_timeout=2,
        tls_root_cert=str(ca),
    )


async def round_trip(client) -> str:
    try:
        key = f"tls-test:{secrets.token_hex(4)}"
        await client.set(key, "over tls", ex=60)
        value = await client.get(key)
        return value.decode() if isinstance(value, bytes) else value
    finally:
        await client.aclose()


def test_the_app_reaches_the_master_through_the_sentinel_with_the_internal_ca(tls_redis):
    assert asyncio.run(round_trip(app_redis.connect(app_settings(tls_redis, tls_redis.ca)))) == "over tls"


def test_the_search_reaches_the_master_through_the_sentinel_and_by_url(tls_redis):
    assert asyncio.run(round_trip(search_redis.connect(search_settings(tls_redis, tls_redis.ca)))) == "over tls"
    assert asyncio.run(round_trip(search_redis.connect(by_url(tls_redis, tls_redis.ca)))) == "over tls"


def refused(client) -> str:
    with pytest.raises(RedisConnectionError) as caught:
        asyncio.run(round_trip(client))
    return str(caught.value)


def by_url(server: TlsRedis, ca: Path, address: str = ADDRESS) -> search_redis.RedisSettings:
    return search_redis.RedisSettings(
        url=f"rediss://{address}:{server.port}/0", username="app", password=server.password, tls_root_cert=str(ca)
    )


def test_a_certificate_from_another_ca_is_refused(tls_redis):
    for client in (
        app_redis.connect(app_settings(tls_redis, tls_redis.other_ca)),
        search_redis.connect(search_settings(tls_redis, tls_redis.other_ca)),
        search_redis.connect(by_url(tls_redis, tls_redis.other_ca)),
    ):
        assert "certificate verify failed" in refused(client)


def test_a_certificate_that_does_not_name_the_address_dialled_is_refused(tls_redis):
    for client in (
        # The Sentinel dialled at an address its certificate does not name...
        app_redis.connect(app_settings(tls_redis, tls_redis.ca, sentinel=UNNAMED)),
        search_redis.connect(search_settings(tls_redis, tls_redis.ca, sentinel=UNNAMED)),
        # ... the master, where the (verified) Sentinel says it is...
        app_redis.connect(app_settings(tls_redis, tls_redis.ca, master=MASTER_UNNAMED)),
        search_redis.connect(search_settings(tls_redis, tls_redis.ca, master=MASTER_UNNAMED)),
        # ... and by url.
        search_redis.connect(by_url(tls_redis, tls_redis.ca, UNNAMED)),
    ):
        message = refused(client)
        assert "certificate verify failed" in message and "IP address mismatch" in message, message
