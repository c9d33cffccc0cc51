"""Every role's passwords go through one check (roles/password_check), which fails the play on
a short or default password before the role changes anything, and never prints the secret."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from roadie.paths import ansible_dir
from roadie.roledocs import argument_specs, roles

ROLES = ansible_dir() / "roles"
BIN = Path(sys.executable).parent
# A length against a literal minimum: how each role once wrote its own copy of the check.
COPY = re.compile(r"\|\s*length\s*>=\s*\d")


def _tasks(role: Path) -> list[dict]:
    return [task for path in sorted((role / "tasks").glob("*.yml")) for task in yaml.safe_load(path.read_text()) or []]


def _checked_names(role: Path) -> list[str]:
    return [
        name
        for task in _tasks(role)
        if (task.get("ansible.builtin.include_role") or {}).get("name") == "password_check"
        for name in task["vars"]["password_check_names"]
    ]


def test_no_role_keeps_a_copy_of_the_password_length_check():
    copies = [
        f"{path.relative_to(ROLES)}:{number}"
        for path in sorted(ROLES.glob("*/tasks/*.yml"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if COPY.search(line)
    ]
    assert copies == [], "include the password_check role instead"


@pytest.mark.parametrize("role", roles(), ids=lambda r: r.name)
def test_every_checked_password_is_a_variable_of_its_role(role):
    declared = set(argument_specs(role)["main"].get("options", {}))
    assert set(_checked_names(role)) <= declared


def test_the_roles_check_the_passwords_they_checked_one_by_one():
    checked = sorted(name for role in roles() for name in _checked_names(role))
    assert checked == [
        "app_customer_issuer_key", "app_operator_token", "app_postgres_password", "app_rabbitmq_password",
        "app_redis_password", "app_search_node_token", "app_search_operator_token", "app_search_redis_password",
        "app_search_sentinel_password", "app_sentinel_password", "etcd_root_password", "grafana_admin_password",
        "haproxy_pg_stats_password", "loadbalancer_stats_password", "patroni_etcd_password",
        "patroni_etcd_root_password", "patroni_replication_password", "patroni_restapi_password",
        "patroni_rewind_password", "patroni_superuser_password", "pgbackrest_archive_repo_cipher_pass",
        "pgbackrest_exporter_db_password", "pgbackrest_pg_superuser_password", "pgbackrest_repo_cipher_pass",
        "postgres_exporter_db_password", "prometheus_app_operator_token", "prometheus_haproxy_stats_password",
        "rabbitmq_admin_password",
        "rabbitmq_app_password", "rabbitmq_erlang_cookie", "redis_admin_password", "redis_app_password",
        "redis_exporter_redis_password", "redis_exporter_sentinel_password", "redis_replication_password",
        "redis_sentinel_password", "redis_sentinel_user_password", "sentinel_password", "sentinel_redis_password",
    ]  # fmt: skip


def _play(tmp_path: Path, password: str) -> subprocess.CompletedProcess[str]:
    """A role that includes the check, then changes something: the marker file."""
    role = tmp_path / "roles" / "consumer"
    (role / "tasks").mkdir(parents=True, exist_ok=True)
    (role / "defaults").mkdir(exist_ok=True)
    (role / "defaults" / "main.yml").write_text(yaml.safe_dump({"consumer_password": password}))
    tasks = [
        {
            "name": "Check the consumer's password",
            "ansible.builtin.include_role": {"name": "password_check"},
            "vars": {"password_check_names": ["consumer_password"]},
        },
        {"name": "Change the host", "ansible.builtin.file": {"path": str(tmp_path / "marker"), "state": "touch"}},
    ]
    (role / "tasks" / "main.yml").write_text(yaml.safe_dump(tasks))
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "roles": ["consumer"]}]))
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(ansible_dir() / "ansible.cfg"),
        "ANSIBLE_ROLES_PATH": f"{tmp_path / 'roles'}:{ROLES}",
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
    }
    command = [str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook)]
    command += ["-e", f"ansible_python_interpreter={sys.executable}"]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False, cwd=tmp_path)


def test_a_short_password_fails_before_the_role_changes_anything(tmp_path):
    result = _play(tmp_path, "short-secret")
    assert result.returncode != 0
    assert "consumer_password must be set (16+ characters); no default passwords." in result.stdout
    assert "short-secret" not in result.stdout + result.stderr
    assert not (tmp_path / "marker").exists()


def test_a_long_password_passes(tmp_path):
    result = _play(tmp_path, "a-long-enough-secret")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "marker").exists()
