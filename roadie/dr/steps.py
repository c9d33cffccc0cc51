"""Small, timed steps the DR drills are made of; each returns when its effect is visible."""

import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg

from roadie.dr import cluster
from roadie.dr.topology import Region
from roadie.errors import RoadieError
from roadie.lab import hosts
from roadie.lab.inventory import Lab
from roadie.polling import poll_until
from roadie.services import internal_tls

POLL_S = 0.2


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> float:
    """Poll until check() is truthy; return when (epoch seconds)."""
    return poll_until(check, timeout, what, interval=POLL_S).at


def tcp_open(address: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def crash_region(lab: Lab, region: Region) -> float:
    """Power loss of every host of the region at once; returns when they were all dead."""
    targets = [lab.host(name) for name in region.host_names]
    with ThreadPoolExecutor(max_workers=max(1, len(targets))) as pool:
        list(pool.map(hosts.crash, targets))
    return time.time()


def power_on_region(lab: Lab, region: Region) -> float:
    targets = [lab.host(name) for name in region.host_names if hosts.is_created(lab.host(name))]
    with ThreadPoolExecutor(max_workers=max(1, len(targets))) as pool:
        list(pool.map(hosts.power_on, targets))
    return time.time()


def region_down(region: Region) -> bool:
    """Nothing of the region's database tier answers: HAProxy's rw port and every Patroni."""
    lb_up = region.pg_lb is not None and tcp_open(*region.pg_lb)
    return not lb_up and not any(tcp_open(m.address, m.rest_port) for m in region.members)


def detect_region_loss(region: Region, checks: int = 3, interval: float = 0.5, timeout: float = 60) -> float:
    """Declare the region lost after `checks` failed health checks in a row (Route53's
    failure threshold, at the lab's interval); returns when."""
    failed = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        failed = failed + 1 if region_down(region) else 0
        if failed >= checks:
            return time.time()
        time.sleep(interval)
    raise RoadieError(f"region {region.number} still answers after {timeout:.0f}s")


def accepts_writes(address: str, port: int, password: str) -> bool:
    """PostgreSQL behind this endpoint is out of recovery (Patroni reports "primary" a moment
    before the promotion has finished)."""
    try:
        with psycopg.connect(
            host=address, port=port, user="app", password=password, dbname="app", connect_timeout=2, autocommit=True
        ) as conn:
            row = conn.execute("select not pg_is_in_recovery()").fetchone()
            return bool(row and row[0])
    except psycopg.Error:
        return False


def app_serves(base_url: str) -> bool:
    """The app behind this load balancer is ready (its database, Redis and broker answer) and
    lists events: a read that goes through the app to the region's database."""
    try:
        verify = internal_tls.verify_for(base_url)
        ready = httpx.get(f"{base_url}/readyz", timeout=2, verify=verify)
        events = httpx.get(f"{base_url}/v1/cities", timeout=2, verify=verify) if ready.status_code == 200 else None
    except httpx.HTTPError:
        return False
    return events is not None and events.status_code == 200


def client_write_refused(address: str, port: int, password: str) -> tuple[bool, str]:
    """Try one write as a client from outside the region: (refused, how it ended)."""
    try:
        with psycopg.connect(
            host=address, port=port, user="app", password=password, dbname="app", connect_timeout=2, autocommit=True
        ) as conn:
            conn.execute("create table if not exists dr_split_brain_probe (at timestamptz default now())")
            conn.execute("insert into dr_split_brain_probe default values")
            return False, "write ACCEPTED"
    except psycopg.Error as exc:
        return True, str(exc).strip().splitlines()[0][:160]


def stop_patroni(lab: Lab, region: Region) -> None:
    for member in region.members:
        hosts.systemctl(lab.host(member.host), "stop", "patroni")


def start_patroni(lab: Lab, region: Region) -> None:
    for member in region.members:
        hosts.systemctl(lab.host(member.host), "start", "patroni")


def wait_standby_cluster(region: Region, via: str | None, timeout: float) -> float:
    return wait_for(
        lambda: cluster.leader_role(region, via) == "standby_leader" and cluster.streaming(region, via),
        timeout,
        f"region {region.number} to run as a streaming standby cluster",
    )
