"""The lab's secrets: generated once per lab, kept in a 0600 file outside git."""

import os
import secrets
from pathlib import Path

import yaml

from roadie.errors import RoadieError

# Every credential the roles need: the keys of `roadie_secrets`, which the shared group_vars
# (ansible/playbooks/group_vars) map to role variables. The lab generates them; AWS inventories
# hold the same keys in Ansible Vault (ansible/inventories/aws/group_vars/all/vault.yml).
SECRET_NAMES = (
    "etcd_root",
    "etcd_patroni",
    "postgres_superuser",
    "postgres_replication",
    "postgres_rewind",
    "postgres_app",
    "patroni_restapi",
    "haproxy_stats",
    "redis_admin",
    "redis_replication",
    "redis_sentinel",
    "redis_app",
    "sentinel",
    "rabbitmq_admin",
    "rabbitmq_app",
    "rabbitmq_cookie",
    "postgres_exporter",
    "lb_stats",
    # pgBackRest repository encryption (repo1: backups + WAL, repo2: yearly archive).
    "pgbackrest_repo1_cipher",
    "pgbackrest_repo2_cipher",
    # Grafana's admin (production only: the lab runs no Grafana, see roadie/lab/standins.py).
    "grafana_admin",
    # The app's API (app/common/auth.py): the operators' bearer token, the HMAC key of the
    # customer token issuer (the lab is its own issuer: roadie.apiauth), and the token search
    # nodes send each other on /internal/ routes.
    "app_operator",
    "app_customer_issuer",
    "search_node",
)


def ensure_secrets(path: Path) -> dict[str, str]:
    """Load the lab's secrets, generating any that are missing (never replacing one)."""
    current = load_secrets(path) if path.exists() else {}
    missing = [name for name in SECRET_NAMES if name not in current]
    if missing:
        current.update({name: secrets.token_urlsafe(24) for name in missing})
        _write_private(path, yaml.safe_dump(current, sort_keys=True))
    return current


def load_secrets(path: Path) -> dict[str, str]:
    if not path.exists():
        raise RoadieError(f"lab secrets not found at {path}: run 'roadie lab up' first")
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise RoadieError(f"{path} is readable by others (mode {mode:o}); expected 0600")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise RoadieError(f"{path} is not a YAML mapping of secret names to values")
    return {str(k): str(v) for k, v in data.items()}


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)
