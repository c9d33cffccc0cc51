"""What a provocation works with: the lab's hosts, secrets, PostgreSQL, Patroni, Redis and units."""

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import httpx
import pika
import psycopg
import redis

from roadie.alerts.notifications import recorder_file
from roadie.alerts.rules import duration_seconds
from roadie.drills.tickets import app_config
from roadie.errors import RoadieError
from roadie.lab import hosts
from roadie.lab.inventory import Lab, load_lab
from roadie.lab.secrets import load_secrets
from roadie.provoke.search_load import SearchLoad, search_until_closed
from roadie.services import internal_tls, registry
from roadie.services import redis as redis_service
from roadie.services.patroni import ClusterMember, Patroni

CONNECT_TIMEOUT_S = 5
DEFAULT_COUNTERS_QUEUE = "tickets.counters"  # app/common/settings.py's default
BREAKER_CLOSE_S = 120.0  # the lab's longest breaker open time (72 s) and a probe


class Simulator:
    """The supplier simulator's operator API: a supplier's outage modes."""

    def __init__(self, url: str) -> None:
        self.url = url

    def modes(self, supplier: str) -> dict[str, object]:
        return dict(
            httpx.get(f"{self.url}/stats", timeout=10).raise_for_status().json()["suppliers"][supplier]["modes"]
        )

    def set_modes(self, supplier: str, modes: dict[str, object]) -> None:
        httpx.post(f"{self.url}/admin/suppliers/{supplier}/mode", json=modes, timeout=10).raise_for_status()


@dataclass
class Context:
    lab: Lab

    @classmethod
    def for_lab(cls) -> "Context":
        return cls(load_lab())

    @cached_property
    def secrets(self) -> dict[str, str]:
        return load_secrets(self.lab.secrets_file)

    @cached_property
    def prometheus(self) -> str:
        return registry.required(self.lab, "monitoring", "prometheus").url("http")

    @cached_property
    def recorder(self) -> Path:
        return recorder_file(self.lab)

    def evaluation_interval_s(self) -> float:
        """Prometheus' rule evaluation interval, as it runs (from its config API)."""
        body = httpx.get(f"{self.prometheus}/api/v1/status/config", timeout=10).json()
        for line in body["data"]["yaml"].splitlines():
            if line.strip().startswith("evaluation_interval:"):
                return duration_seconds(line.split(":", 1)[1].strip())
        return 60.0  # Prometheus' default when the configuration does not set it

    def alert_for_s(self) -> dict[str, float]:
        """Each alerting rule's `for:` in seconds, as Prometheus loaded it (the lab's scaled values)."""
        body = httpx.get(f"{self.prometheus}/api/v1/rules", params={"type": "alert"}, timeout=10).json()
        return {r["name"]: float(r.get("duration", 0)) for g in body["data"]["groups"] for r in g["rules"]}

    # PostgreSQL and Patroni
    def primary(self, dbname: str = "postgres") -> psycopg.Connection:
        """A superuser session on the primary, through the PostgreSQL load balancer."""
        lb = registry.required(self.lab, "pg_lb", "haproxy_pg")
        return self._pg(lb.address, lb.ports["primary"], dbname)

    def member(self, name: str, dbname: str = "postgres") -> psycopg.Connection:
        """A superuser session on one Patroni member, straight to its PostgreSQL."""
        found = registry.service(self.lab.host(name), "patroni")
        return self._pg(found.address, found.ports["postgresql"], dbname)

    def _pg(self, address: str, port: int, dbname: str) -> psycopg.Connection:
        return psycopg.connect(
            host=address,
            port=port,
            user="postgres",
            password=self.secrets["postgres_superuser"],
            dbname=dbname,
            connect_timeout=CONNECT_TIMEOUT_S,
            autocommit=True,
        )

    def patroni(self) -> Patroni:
        return Patroni.of(registry.in_group(self.lab, "postgres", "patroni"))

    def cluster(self) -> tuple[ClusterMember, ...]:
        members = self.patroni().cluster()
        if not members:
            raise RoadieError("no Patroni member answered /cluster")
        return members

    def leader(self) -> str:
        return next(m.name for m in self.cluster() if m.role == "leader")

    def patroni_config(self, patch: dict[str, object]) -> None:
        """PATCH the cluster's dynamic configuration (through any member's REST API)."""
        url = registry.in_group(self.lab, "postgres", "patroni")[0].url("restapi", "/config")
        # An unsafe call: Patroni asks for a client certificate besides the password.
        answer = httpx.patch(
            url,
            json=patch,
            auth=("patroni", self.secrets["patroni_restapi"]),
            timeout=10,
            verify=internal_tls.verify_for(url, client=True),
        )
        if answer.status_code != 200:
            raise RoadieError(f"Patroni refused the configuration change {patch}: {answer.text[:200]}")

    # Redis
    def redis_node(self, name: str) -> redis.Redis:
        found = registry.service(self.lab.host(name), "redis")
        return redis_service.node(found.endpoint("redis"), self.secrets["redis_admin"], timeout=5)

    def redis_replicas(self) -> list[str]:
        return [h.name for h in self.lab.group("redis") if redis_service.role(self.redis_node(h.name)).role == "slave"]

    # Suppliers and search
    def suppliers(self) -> "Simulator":
        return Simulator(registry.required(self.lab, "suppliers", "supplier_sim").url("http"))

    def app_urls(self) -> list[str]:
        return registry.urls(registry.in_group(self.lab, "app", "app"), "http")

    def search_load(self, supplier: str) -> SearchLoad:
        return SearchLoad(self.app_urls(), supplier)

    def search_until_breaker_closed(self, supplier: str, timeout: float = BREAKER_CLOSE_S) -> None:
        # Asked of a node, not the load balancer: another tier may have the load balancer stopped.
        urls = self.app_urls()
        search_until_closed(urls, urls[0], self.secrets["app_operator"], supplier, timeout)

    # RabbitMQ
    def counters_queue(self) -> str:
        """The booking-events queue, as the app's rendered settings name it."""
        return str(app_config(self.lab).get("rabbitmq", {}).get("counters_queue", DEFAULT_COUNTERS_QUEUE))

    def publish_markers(self, queue: str, count: int) -> None:
        """Publish `count` messages no consumer can apply (no message id, not an event) to the
        queue, as the broker's admin: the consumer drops them when it comes back."""
        settings = app_config(self.lab)["rabbitmq"]
        # The rabbitmq role's operator user (rabbitmq_admin_user).
        credentials = pika.PlainCredentials("admin", self.secrets["rabbitmq_admin"])
        params = pika.ConnectionParameters(
            settings["host"],
            int(settings["port"]),
            settings["vhost"],
            credentials,
            ssl_options=internal_tls.amqp_ssl_options(settings["host"]),
        )
        connection = pika.BlockingConnection(params)
        try:
            channel = connection.channel()
            channel.confirm_delivery()
            for n in range(count):
                channel.basic_publish("", queue, f"roadie provoke marker {n}".encode())
        finally:
            connection.close()

    # Processes on a host
    def process(self, host: str, marker: str) -> int:
        """The PID of the host's one process whose command line contains `marker`."""
        listing = hosts.run(self.lab.host(host), ["ps", "-eo", "pid=,args="], timeout=30).stdout
        found = [
            int(line.split(None, 1)[0]) for line in listing.splitlines() if marker in line and "ps -eo" not in line
        ]
        if len(found) != 1:
            raise RoadieError(f"expected one process '{marker}' on {host}, found {len(found)}")
        return found[0]

    def signal(self, host: str, pid: int, name: str) -> None:
        hosts.run(self.lab.host(host), ["kill", f"-{name}", str(pid)], timeout=30)

    # Units
    def unit(self, host: str, kind: str) -> str:
        return registry.service(self.lab.host(host), kind).unit

    def stop(self, host: str, kind: str) -> None:
        hosts.systemctl(self.lab.host(host), "stop", self.unit(host, kind))

    def start(self, host: str, kind: str) -> None:
        hosts.systemctl(self.lab.host(host), "start", self.unit(host, kind))
