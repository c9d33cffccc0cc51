"""How the toolkit trusts the environment's internal CA (roadie/tls.py), set once per process.

Every TLS service of the platform presents a certificate from one internal CA. The toolkit's
clients verify against it, named once per process by `trust` (the CLI calls it with the lab's
CA directory; the tests' `lab` fixture too):
- PostgreSQL: every connection the toolkit opens (drills, DR, benchmarks, backups, provocations,
  tests) and every psql or pgbench it starts goes through libpq, which reads PGSSLMODE and
  PGSSLROOTCERT: `verify-full` against the CA, without every call site repeating it;
- HTTPS (Patroni's REST API, etcd): `http_verify()` is the context httpx verifies with, and
  `http_client()` the same presenting the operator's certificate, which Patroni asks for on
  unsafe calls;
- Redis and Sentinel (TLS only): `redis_options()`, the keyword arguments every redis-py
  client and Sentinel connection of the toolkit is built with;
- RabbitMQ (AMQPS only): `amqp_ssl_options(host)`, what every pika connection is given.
Values the operator exported win (production: ROADIE_TLS_DIR, from `roadie tls issue`). A
missing CA file fails each connection naming the file, never with a fall back to plain text.
"""

from __future__ import annotations

import os
import ssl
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from roadie.tls_files import TlsFiles

if TYPE_CHECKING:
    import pika

PGSSLMODE = "verify-full"
# The CA's directory (ca.crt, operator.crt/.key), as `roadie tls issue -d` wrote it.
DIR_VARIABLE = "ROADIE_TLS_DIR"


def trust(directory: Path) -> None:
    """Make this process's clients verify against the CA in `directory` (unless the operator
    named another with ROADIE_TLS_DIR or libpq's own variables)."""
    os.environ.setdefault(DIR_VARIABLE, str(directory))
    os.environ.setdefault("PGSSLMODE", PGSSLMODE)
    os.environ.setdefault("PGSSLROOTCERT", str(files().ca_cert))


def files() -> TlsFiles:
    directory = os.environ.get(DIR_VARIABLE)
    if not directory:
        raise RuntimeError(f"{DIR_VARIABLE} is not set: call internal_tls.trust() first")
    return TlsFiles(Path(directory))


@cache
def http_verify() -> ssl.SSLContext:
    """The context HTTPS clients verify a service's certificate and name with: the CA only."""
    return ssl.create_default_context(cafile=str(files().ca_cert))


@cache
def http_client() -> ssl.SSLContext:
    """`http_verify()` that also presents the operator's client certificate."""
    found = files()
    context = ssl.create_default_context(cafile=str(found.ca_cert))
    context.load_cert_chain(str(found.operator_cert), str(found.operator_key))
    return context


def verify_for(url: str, *, client: bool = False) -> ssl.SSLContext | bool:
    """What an httpx call to `url` verifies with: the internal CA for https (presenting the
    operator's certificate when `client`)."""
    if not url.startswith("https:"):
        return True
    return http_client() if client else http_verify()


def redis_options() -> dict[str, object]:
    """redis-py's connection arguments for a server of the internal CA: TLS, the certificate
    verified against the CA and the address dialled (the certificates name IP addresses)."""
    return {
        "ssl": True,
        "ssl_ca_certs": str(files().ca_cert),
        "ssl_cert_reqs": "required",
        "ssl_check_hostname": True,
    }


def amqp_ssl_options(host: str) -> pika.SSLOptions:
    """pika's TLS settings for the RabbitMQ node at `host`: its certificate verified against
    the CA only and the address dialled."""
    import pika  # noqa: PLC0415 - only RabbitMQ's clients need pika

    return pika.SSLOptions(http_verify(), server_hostname=host)
