"""`roadie tls rotate`: the primary's host gets a new key and certificate while clients keep
writing; PostgreSQL serves the new certificate without a restart, and no write fails."""

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
import psycopg
from cryptography import x509

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


@dataclass
class Writer:
    """Writes a row every WRITE_EVERY_S through a new connection and through one kept open."""

    conninfo: str
    done: threading.Event = field(default_factory=threading.Event)
    fresh: int = 0
    kept: int = 0
    errors: list[str] = field(default_factory=list)

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
    writer = Writer(conninfo)
    thread = threading.Thread(target=writer.run, name="writer")
    thread.start()
    try:
        rotated = subprocess.run(
            [str(Path(sys.executable).parent / "roadie"), "tls", "rotate", host.name],
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
    after = served_serial(address, port, lab.tls.ca_cert)
    issued = x509.load_pem_x509_certificate(lab.tls.host_cert(host.name).read_bytes()).serial_number
    assert after == issued != before, "PostgreSQL still serves the old certificate"
    assert writer.errors == []
    # Lower bounds: the writer did write through the whole rotation, on both kinds of connection.
    assert writer.fresh >= 20 and writer.kept >= 20, (writer.fresh, writer.kept)
