"""Helpers for tests against the lab."""

from collections.abc import Callable
from typing import Any

import httpx
import psycopg

from roadie.errors import RoadieError
from roadie.lab.inventory import Lab, LabHost
from roadie.polling import poll_until
from roadie.services import internal_tls, registry


def manifest(host: LabHost, kind: str) -> dict[str, Any]:
    """The host's registry entry of `kind`, as the role wrote it (roadie.services.registry reads it)."""
    entry = registry.find(host, kind)
    if entry is None:
        raise AssertionError(f"{host.name} has no {kind} service installed")
    return entry.as_json()


def lb_url(lab: Lab, port: str = "https") -> str:
    """The app load balancer's URL (HTTPS, its certificate from the lab's CA), or its stats page's."""
    return registry.service(lab.group("lb")[0], "loadbalancer").url(port)


def lb_client(lab: Lab, **options: Any) -> httpx.Client:
    """A client of the app load balancer, verifying its certificate against the lab's CA."""
    return httpx.Client(base_url=lb_url(lab), verify=internal_tls.http_verify(), **options)


def wait_until(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    """Poll a readiness condition until it holds (returns a truthy value) or time runs out."""
    try:
        return poll_until(check, timeout, what, interval).value
    except RoadieError as exc:
        raise AssertionError(str(exc)) from None


def app_conninfo(lab: Lab, secrets: dict[str, str], host: str, port: int, **extra: Any) -> str:
    """libpq connection string of the app's login role at host:port, verifying the server against
    the lab's CA and the name dialled (extra parameters win: sslmode="disable" for plain text)."""
    params: dict[str, Any] = {
        "host": host,
        "port": port,
        "user": "app",
        "dbname": "app",
        "password": secrets["postgres_app"],
        "connect_timeout": 5,
        "sslmode": "verify-full",
        "sslrootcert": str(lab.tls.ca_cert),
    }
    return psycopg.conninfo.make_conninfo(**{**params, **extra})
