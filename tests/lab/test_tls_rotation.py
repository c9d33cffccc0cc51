"""`roadie tls rotate`: a host gets a new key and certificate while clients keep writing; the
service serves the new certificate without a restart, and no write fails. PostgreSQL's primary,
the Redis master (its host's Sentinel restarts: Sentinel cannot reload a certificate), a
RabbitMQ node and the app load balancer (a reload: kept connections carry on)."""

import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pika
import psycopg
import redis
from cryptography import x509
from redis.sentinel import Sentinel

from roadie.services import internal_tls, registry
from tests.support import app_conninfo, manifest

# PostgreSQL's SSLRequest: length 8, then the magic code 80877103 (the protocol's 1234.5679).
SSL_REQUEST = struct.pack("!ii", 8, 80877103)
WRITE_EVERY_S = 0.1


def served_serial(address: str, port: int, ca: Path) -> int:
    """The serial number of the certificate PostgreSQL presents at address:port, verified."""
    with socket.create_connection((address, port), timeout=5) as raw:
        raw.sendall(SSL_REQUEST)
        assert raw.recv(1) == b"S", "the server refused TLS"
        context = ssl.create_default_context(cafile=str(ca))
        with context.wrap_socket(raw, server_hostname=address) as wrapped:
            der = wrapped.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


@dataclass(kw_only=True)
class Traffic:
    """What a client did through a rotation: requests on new connections and on the one it kept
    open, and every failure. `done` stops it."""

    done: threading.Event = field(default_factory=threading.Event)
    fresh: int = 0
    kept: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class Writer(Traffic):
    """Writes a row every WRITE_EVERY_S through a new connection and through one kept open."""

    conninfo: str

    def run(self) -> None:
        with psycopg.connect(self.conninfo, autocommit=True) as kept:
            while not self.done.is_set():
                try:
                    with psycopg.connect(self.conninfo, autocommit=True) as conn:
                        conn.execute("insert into tls_rotation (at) values (now())")
                    self.fresh += 1
                    kept.execute("insert into tls_rotation (at) values (now())")
                    self.kept += 1
                except psycopg.Error as exc:
                    self.errors.append(str(exc).strip().splitlines()[0])
                time.sleep(WRITE_EVERY_S)


def served_tls_serial(address: str, port: int, ca: Path) -> int:
    """The serial number of the certificate a TLS-only server (Redis, Sentinel) presents, verified."""
    context = ssl.create_default_context(cafile=str(ca))
    with (
        socket.create_connection((address, port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=address) as wrapped,
    ):
        der = wrapped.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


def rotate_while_writing(lab, host: str, writer: Traffic) -> int:
    """`roadie tls rotate host` while `writer` writes; the serial number of the new certificate.
    Fails when the rotation failed or a write did."""
    thread = threading.Thread(target=writer.run, name="writer")
    thread.start()
    try:
        rotated = subprocess.run(
            [str(Path(sys.executable).parent / "roadie"), "tls", "rotate", host],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        # Writes go on after the host converged: new connections meet the new certificate.
        time.sleep(2)
    finally:
        writer.done.set()
        thread.join(timeout=30)
    assert rotated.returncode == 0, rotated.stderr or rotated.stdout
    assert writer.errors == []
    # Lower bounds: the writer did write through the whole rotation, on both kinds of connection.
    assert writer.fresh >= 20 and writer.kept >= 20, (writer.fresh, writer.kept)
    return x509.load_pem_x509_certificate(lab.tls.host_cert(host).read_bytes()).serial_number


def primary_member(lab):
    for host in lab.group("postgres"):
        url = registry.service(host, "patroni").url("restapi", "/primary")
        if httpx.get(url, timeout=3, verify=internal_tls.http_verify()).status_code == 200:
            return host, manifest(host, "patroni")
    raise AssertionError("no primary")


def test_rotating_the_primarys_certificate_loses_no_write(lab, lab_secrets, running_hosts):
    host, entry = primary_member(lab)
    address, port = entry["address"], entry["ports"]["postgresql"]
    before = served_serial(address, port, lab.tls.ca_cert)
    lb = manifest(lab.group("pg_lb")[0], "haproxy_pg")
    conninfo = app_conninfo(lab, lab_secrets, lb["address"], lb["ports"]["primary"])
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("create table if not exists tls_rotation (at timestamptz not null)")
    issued = rotate_while_writing(lab, host.name, Writer(conninfo))
    after = served_serial(address, port, lab.tls.ca_cert)
    assert after == issued != before, "PostgreSQL still serves the old certificate"


@dataclass
class RedisWriter(Traffic):
    """Sets a key every WRITE_EVERY_S through a client that asks the Sentinels for the master
    on each new connection, and through a connection kept open to the master."""

    sentinel: Sentinel

    def run(self) -> None:
        kept = self.sentinel.master_for("roadie", socket_timeout=2)
        while not self.done.is_set():
            try:
                fresh = self.sentinel.master_for("roadie", socket_timeout=2)
                fresh.set(f"tls-rotation:fresh:{self.fresh}", 1, ex=300)
                fresh.close()
                self.fresh += 1
                kept.set(f"tls-rotation:kept:{self.kept}", 1, ex=300)
                self.kept += 1
            except redis.RedisError as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")
            time.sleep(WRITE_EVERY_S)


def test_rotating_the_redis_masters_certificate_loses_no_write(lab, lab_secrets, running_hosts):
    tls = internal_tls.redis_options()
    sentinels = [manifest(h, "sentinel") for h in lab.group("sentinel")]
    sentinel = Sentinel(
        [(e["address"], int(e["ports"]["sentinel"])) for e in sentinels],
        sentinel_kwargs={"password": lab_secrets["sentinel"], "socket_timeout": 2, **tls},
        username="app",
        password=lab_secrets["redis_app"],
        **tls,
    )
    address, port = sentinel.discover_master("roadie")
    host = next(h for h in lab.group("redis") if manifest(h, "redis")["address"] == address)
    sentinel_port = int(manifest(host, "sentinel")["ports"]["sentinel"])
    before = served_tls_serial(address, port, lab.tls.ca_cert)
    # The kept connection writing throughout shows the master was not restarted.
    issued = rotate_while_writing(lab, host.name, RedisWriter(sentinel))
    assert served_tls_serial(address, port, lab.tls.ca_cert) == issued != before, "Redis serves the old certificate"
    assert served_tls_serial(address, sentinel_port, lab.tls.ca_cert) == issued, "Sentinel serves the old certificate"
    assert sentinel.discover_master("roadie") == (address, port), "the rotation cost a failover"


@dataclass
class RabbitWriter(Traffic):
    """Publishes a confirmed message every WRITE_EVERY_S through a new connection and through
    one kept open, to a quorum queue."""

    parameters: pika.ConnectionParameters
    queue: str

    def channel(self, connection: pika.BlockingConnection):
        channel = connection.channel()
        channel.confirm_delivery()
        channel.queue_declare(self.queue, durable=True, arguments={"x-queue-type": "quorum"})
        return channel

    def run(self) -> None:
        with pika.BlockingConnection(self.parameters) as kept_connection:
            kept = self.channel(kept_connection)
            while not self.done.is_set():
                try:
                    with pika.BlockingConnection(self.parameters) as connection:
                        self.channel(connection).basic_publish("", self.queue, b"fresh")
                    self.fresh += 1
                    kept.basic_publish("", self.queue, b"kept")
                    self.kept += 1
                except pika.exceptions.AMQPError as exc:
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                time.sleep(WRITE_EVERY_S)
            kept.queue_delete(self.queue)


def test_rotating_a_rabbitmq_nodes_certificate_loses_no_publish(lab, lab_secrets, running_hosts):
    host = lab.group("rabbitmq")[0]
    entry = manifest(host, "rabbitmq")
    address, port = entry["address"], int(entry["ports"]["amqp"])
    before = served_tls_serial(address, port, lab.tls.ca_cert)
    parameters = pika.ConnectionParameters(
        address,
        port,
        entry["vhost"],
        pika.PlainCredentials("app", lab_secrets["rabbitmq_app"]),
        connection_attempts=1,
        socket_timeout=5,
        ssl_options=internal_tls.amqp_ssl_options(address),
    )
    # The kept connection publishing throughout shows the node was not restarted.
    issued = rotate_while_writing(lab, host.name, RabbitWriter(parameters, "tls-rotation"))
    assert served_tls_serial(address, port, lab.tls.ca_cert) == issued != before, "RabbitMQ serves the old certificate"
    metrics = int(entry["ports"]["prometheus"])
    assert served_tls_serial(address, metrics, lab.tls.ca_cert) == issued, "the metrics serve the old certificate"


@dataclass
class HttpsReader(Traffic):
    """Asks the app load balancer for the cities every WRITE_EVERY_S through a new connection
    and through one kept open (each request must be answered 200)."""

    url: str

    def run(self) -> None:
        verify = internal_tls.http_verify()
        with httpx.Client(base_url=self.url, timeout=5, verify=verify) as kept:
            while not self.done.is_set():
                try:
                    with httpx.Client(base_url=self.url, timeout=5, verify=verify) as fresh:
                        fresh.get("/v1/cities").raise_for_status()
                    self.fresh += 1
                    kept.get("/v1/cities").raise_for_status()
                    self.kept += 1
                except httpx.HTTPError as exc:
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                time.sleep(WRITE_EVERY_S)


def test_rotating_the_load_balancers_certificate_drops_no_request(lab, running_hosts):
    host = lab.group("lb")[0]
    lb = registry.service(host, "loadbalancer")
    https, stats = lb.endpoint("https"), lb.endpoint("stats")
    before = served_tls_serial(https.address, https.port, lab.tls.ca_cert)
    # HAProxy reloads: the old worker finishes the kept connection, new ones meet the new pair.
    issued = rotate_while_writing(lab, host.name, HttpsReader(https.url()))
    assert served_tls_serial(https.address, https.port, lab.tls.ca_cert) == issued != before, "the old certificate"
    assert served_tls_serial(stats.address, stats.port, lab.tls.ca_cert) == issued, "the stats page's is the old one"
