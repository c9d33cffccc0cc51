"""The timeouts around a booking held through a failover fit inside each other: the failover's
write outage (about Patroni's ttl) < the app's retry deadline < the load balancer's timeout for
keyed requests. A deadline below the outage answers 503 in every failover; a load balancer
timeout below the deadline cuts the held booking off and resends it to another node."""

import re

import yaml

from app.common.settings import TicketSettings
from roadie.paths import project_root

ROOT = project_root()


def _yaml(path: str) -> dict:
    return yaml.safe_load((ROOT / path).read_text())


def _seconds(haproxy_time: str) -> float:
    number, unit = re.fullmatch(r"(\d+)(ms|s|m)?", haproxy_time).groups()  # type: ignore[union-attr]
    return int(number) * {"ms": 0.001, "s": 1.0, "m": 60.0, None: 0.001}[unit]


def test_the_deadline_outlasts_a_failover_and_the_load_balancer_outlasts_the_deadline():
    app = _yaml("ansible/roles/app/defaults/main.yml")
    lb = _yaml("ansible/roles/loadbalancer/defaults/main.yml")
    deadline = app["app_booking_retry_deadline_seconds"]
    assert deadline == TicketSettings().booking_retry_deadline_seconds  # one default, host and pod alike
    lab_ttl = _yaml("ansible/inventories/lab/group_vars/postgres_servers.yml")["patroni_ttl"]
    assert lab_ttl < deadline < _seconds(lb["loadbalancer_timeout_keyed_server"])
    assert _seconds(lb["loadbalancer_timeout_keyed_server"]) <= _seconds(lb["loadbalancer_timeout_client"])


def test_the_load_balancer_gives_keyed_requests_their_own_timeout():
    template = (ROOT / "ansible/roles/loadbalancer/templates/haproxy.cfg.j2").read_text()
    assert "http-request set-timeout server {{ loadbalancer_timeout_keyed_server }} if idempotent_key" in template
    assert "acl idempotent_key req.hdr(idempotency-key) -m found" in template


def test_haproxy_times_are_read_with_their_units():
    assert _seconds("30s") == 30.0
    assert _seconds("1m") == 60.0
    assert _seconds("500ms") == 0.5
    assert _seconds("2000") == 2.0
