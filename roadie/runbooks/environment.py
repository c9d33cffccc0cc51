"""Where runbook commands run: the variables their commands use, for the lab or the shell.

Runbook commands never hard-code addresses or credentials; they use these variables:
PROMETHEUS_URL, ALERTMANAGER_URL, PATRONI_URL, PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE
(the primary through HAProxy), PG_MEMBERS, REDIS_HOSTS, REDISCLI_AUTH (Redis admin),
SENTINEL_HOST, SENTINEL_PASSWORD, RABBITMQ_METRICS_URL, ETCD_ENDPOINTS, ETCD_ROOT_PASSWORD,
APP_URLS, APP_OPERATOR_TOKEN (the app's operator token: /metrics, /v1/search/stats), LB_URL,
SUPPLIERS_URL, NODE_EXPORTER_URL, and for commands on a host ROADIE_SSH
(how to reach a host by its inventory name: `$ROADIE_SSH db-1 sudo systemctl restart etcd`),
HOSTS (every host's name) and BACKUP_HOST (the pgBackRest repository host). In the lab they come
from the inventory and the lab's secrets (ROADIE_SSH is ssh with the lab's client config);
elsewhere (``--env shell``) the operator exports them (ROADIE_SSH is typically `ssh`).
"""

import os
import shlex

from roadie.errors import RoadieError
from roadie.lab.inventory import Lab, LabHost, load_lab
from roadie.lab.secrets import load_secrets

VARIABLES = (
    "PROMETHEUS_URL",
    "ALERTMANAGER_URL",
    "PATRONI_URL",
    "PGHOST",
    "PGPORT",
    "PGUSER",
    "PGPASSWORD",
    "PGDATABASE",
    "PG_MEMBERS",
    "REDIS_HOSTS",
    "REDISCLI_AUTH",
    "SENTINEL_HOST",
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


def _address(lab: Lab, group: str) -> str:
    host = _first(lab, group)
    return host.address if host else ""


def lab_environment(lab: Lab | None = None) -> dict[str, str]:
    """The runbook variables for the lab, from the inventory and the lab's secrets."""
    lab = lab or load_lab()
    secrets = load_secrets(lab.secrets_file)
    mon = _address(lab, "monitoring")
    values = {
        "PROMETHEUS_URL": f"http://{mon}:9090",
        "ALERTMANAGER_URL": f"http://{mon}:9093",
        "PATRONI_URL": f"http://{_address(lab, 'postgres')}:8008",
        "PGHOST": _address(lab, "pg_lb"),
        "PGPORT": "5000",
        "PGUSER": "postgres",
        "PGPASSWORD": secrets.get("postgres_superuser", ""),
        "PGDATABASE": "postgres",
        "PGCONNECT_TIMEOUT": "5",
        "PG_MEMBERS": " ".join(h.address for h in lab.group("postgres")),
        "REDIS_HOSTS": " ".join(h.address for h in lab.group("redis")),
        "REDISCLI_AUTH": secrets.get("redis_admin", ""),
        "SENTINEL_HOST": _address(lab, "sentinel"),
        "SENTINEL_PASSWORD": secrets.get("sentinel", ""),
        "RABBITMQ_METRICS_URL": f"http://{_address(lab, 'rabbitmq')}:15692",
        "ETCD_ENDPOINTS": ",".join(f"http://{h.address}:2379" for h in lab.group("etcd")),
        "ETCD_ROOT_PASSWORD": secrets.get("etcd_root", ""),
        "APP_URLS": " ".join(f"http://{h.address}:8000" for h in lab.group("app")),
        "APP_OPERATOR_TOKEN": secrets.get("app_operator", ""),
        "LB_URL": f"http://{_address(lab, 'lb')}:80",
        "SUPPLIERS_URL": f"http://{_address(lab, 'suppliers')}:8100",
        "NODE_EXPORTER_URL": f"http://{mon}:9100",
        "ROADIE_SSH": shlex.join(["ssh", "-F", str(lab.ssh.config)]),
        "HOSTS": " ".join(h.name for h in lab.hosts),
        "BACKUP_HOST": getattr(_first(lab, "backup_repo"), "name", ""),
    }
    return values


def shell_environment() -> dict[str, str]:
    """The variables as the operator exported them (production, staging)."""
    return {name: os.environ[name] for name in VARIABLES if name in os.environ}


def environment(name: str) -> dict[str, str]:
    if name == "lab":
        return lab_environment()
    if name == "shell":
        return shell_environment()
    raise RoadieError(f"unknown environment '{name}' (environments: lab, shell)")
