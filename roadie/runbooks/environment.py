"""Where runbook commands run: the variables their commands use, for the lab or the shell.

Runbook commands never hard-code addresses, ports or credentials; they use these variables:
PROMETHEUS_URL, ALERTMANAGER_URL, PATRONI_URL (one member's REST API), PATRONI_URLS (every
member's), PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE (the primary through HAProxy),
PGSSLMODE/PGSSLROOTCERT (libpq verifies PostgreSQL's certificate against the internal CA),
CURL_CA_BUNDLE (curl verifies HTTPS services, Patroni's REST API and etcd, against it), ROADIE_CA_CERT
(the same CA file, for tools without such a variable: `redis-cli --tls --cacert "$ROADIE_CA_CERT"`),
PG_MEMBERS, REDIS_HOSTS, REDISCLI_AUTH (Redis admin), SENTINEL_HOST, SENTINEL_PORT, SENTINEL_PASSWORD,
RABBITMQ_METRICS_URL, ETCD_ENDPOINTS, ETCD_ROOT_PASSWORD, APP_URLS, APP_OPERATOR_TOKEN (the app's
operator token: /metrics, /v1/search/stats), LB_URL, SUPPLIERS_URL, NODE_EXPORTER_URL, and for
commands on a host ROADIE_SSH (how to reach a host by its inventory name:
`$ROADIE_SSH db-1 sudo systemctl restart etcd`), HOSTS (every host's name) and BACKUP_HOST
(the pgBackRest repository host). In the lab they come from the hosts' service registry (where
each service listens), the inventory and the lab's secrets (ROADIE_SSH is ssh with the lab's
client config); a service that is not deployed leaves its variables empty. Elsewhere
(``--env shell``) the operator exports them (ROADIE_SSH is typically `ssh`).
"""

import os
import shlex

from roadie.errors import RoadieError
from roadie.lab.inventory import Lab, LabHost, load_lab
from roadie.lab.secrets import load_secrets
from roadie.services import internal_tls, registry
from roadie.services.registry import Service

VARIABLES = (
    "PROMETHEUS_URL",
    "ALERTMANAGER_URL",
    "PATRONI_URL",
    "PATRONI_URLS",
    "PGHOST",
    "PGPORT",
    "PGUSER",
    "PGPASSWORD",
    "PGDATABASE",
    "PGSSLMODE",
    "PGSSLROOTCERT",
    "CURL_CA_BUNDLE",
    "ROADIE_CA_CERT",
    "PG_MEMBERS",
    "REDIS_HOSTS",
    "REDISCLI_AUTH",
    "SENTINEL_HOST",
    "SENTINEL_PORT",
    "SENTINEL_PASSWORD",
    "RABBITMQ_METRICS_URL",
    "ETCD_ENDPOINTS",
    "ETCD_ROOT_PASSWORD",
    "APP_URLS",
    "APP_OPERATOR_TOKEN",
    "LB_URL",
    "SUPPLIERS_URL",
    "NODE_EXPORTER_URL",
    "ROADIE_SSH",
    "HOSTS",
    "BACKUP_HOST",
)


def _first(lab: Lab, group: str) -> LabHost | None:
    members = lab.group(group)
    return members[0] if members else None


def _url(lab: Lab, group: str, kind: str, port: str) -> str:
    """The first `kind` service of the group's URL on `port` ("" when none is deployed)."""
    found = registry.first(lab, group, kind)
    return found.url(port) if found else ""


def _port(found: Service | None, port: str) -> str:
    return str(found.ports[port]) if found else ""


def _addresses(services: list[Service]) -> str:
    return " ".join(s.address for s in services)


def lab_environment(lab: Lab | None = None) -> dict[str, str]:
    """The runbook variables for the lab, from the hosts' registries, the inventory and the secrets."""
    lab = lab or load_lab()
    secrets = load_secrets(lab.secrets_file)
    patroni = registry.in_group(lab, "postgres", "patroni")
    pg_lb = registry.first(lab, "pg_lb", "haproxy_pg")
    sentinel = registry.first(lab, "sentinel", "sentinel")
    return {
        "PROMETHEUS_URL": _url(lab, "monitoring", "prometheus", "http"),
        "ALERTMANAGER_URL": _url(lab, "monitoring", "alertmanager", "http"),
        "PATRONI_URL": patroni[0].url("restapi") if patroni else "",
        "PATRONI_URLS": " ".join(registry.urls(patroni, "restapi")),
        "PGHOST": pg_lb.address if pg_lb else "",
        "PGPORT": _port(pg_lb, "primary"),
        "PGUSER": "postgres",
        "PGPASSWORD": secrets.get("postgres_superuser", ""),
        "PGDATABASE": "postgres",
        "PGSSLMODE": internal_tls.PGSSLMODE,
        "PGSSLROOTCERT": str(lab.tls.ca_cert),
        "CURL_CA_BUNDLE": str(lab.tls.ca_cert),
        "ROADIE_CA_CERT": str(lab.tls.ca_cert),
        "PGCONNECT_TIMEOUT": "5",
        "PG_MEMBERS": _addresses(patroni),
        "REDIS_HOSTS": _addresses(registry.in_group(lab, "redis", "redis")),
        "REDISCLI_AUTH": secrets.get("redis_admin", ""),
        "SENTINEL_HOST": sentinel.address if sentinel else "",
        "SENTINEL_PORT": _port(sentinel, "sentinel"),
        "SENTINEL_PASSWORD": secrets.get("sentinel", ""),
        "RABBITMQ_METRICS_URL": _url(lab, "rabbitmq", "rabbitmq", "prometheus"),
        "ETCD_ENDPOINTS": ",".join(registry.urls(registry.in_group(lab, "etcd", "etcd"), "client")),
        "ETCD_ROOT_PASSWORD": secrets.get("etcd_root", ""),
        "APP_URLS": " ".join(registry.urls(registry.in_group(lab, "app", "app"), "http")),
        "APP_OPERATOR_TOKEN": secrets.get("app_operator", ""),
        "LB_URL": _url(lab, "lb", "loadbalancer", "https"),
        "SUPPLIERS_URL": _url(lab, "suppliers", "supplier_sim", "http"),
        "NODE_EXPORTER_URL": _url(lab, "monitoring", "node_exporter", "metrics"),
        "ROADIE_SSH": shlex.join(["ssh", "-F", str(lab.ssh.config)]),
        "HOSTS": " ".join(h.name for h in lab.hosts),
        "BACKUP_HOST": getattr(_first(lab, "backup_repo"), "name", ""),
    }


def shell_environment() -> dict[str, str]:
    """The variables as the operator exported them (production, staging)."""
    return {name: os.environ[name] for name in VARIABLES if name in os.environ}


def environment(name: str) -> dict[str, str]:
    if name == "lab":
        return lab_environment()
    if name == "shell":
        return shell_environment()
    raise RoadieError(f"unknown environment '{name}' (environments: lab, shell)")
