"""The pgbackrest role runs the status exporter on the repository host, bound to the host's
address, and the prometheus role scrapes it on the port the pgbackrest role uses."""

import yaml

from roadie.paths import ansible_dir
from tests.unit.backup.render import expression, render, variables
from tests.unit.observability.role_render import render_template, role_variables, templar, trusted

ROLES = ansible_dir() / "roles"
# The inventory's all.vars: the PostgreSQL endpoint (from the stack outputs) is pg-lb's HAProxy.
ALL_VARS = {"roadie_pg_endpoint": "10.1.0.52"}
HOSTVARS = {
    "db-1": {"roadie_address": "10.1.1.11", "roadie_region": 1, "roadie_az": 1, **ALL_VARS},
    "pg-lb": {"roadie_address": "10.1.0.52", "roadie_region": 1, "roadie_az": 0, **ALL_VARS},
    "mon": {"roadie_address": "10.1.0.61", "roadie_region": 1, "roadie_az": 0, **ALL_VARS},
    "backup": {"roadie_address": "10.1.0.81", "roadie_region": 1, "roadie_az": 0, **ALL_VARS},
}
GROUPS = {"postgres": ["db-1"], "pg_lb": ["pg-lb"], "monitoring": ["mon"], "backup_repo": ["backup"]}
PASSWORD = "e" * 24


def exporter_tasks() -> list[dict]:
    return yaml.safe_load((ROLES / "pgbackrest" / "tasks" / "exporter.yml").read_text())


def production_variables(**overrides) -> dict:
    """The role's variables for the production repository host, with the exporter's password."""
    return variables("pgbackrest", "backup", HOSTVARS, GROUPS, pgbackrest_exporter_db_password=PASSWORD, **overrides)


def service(**overrides) -> dict:
    """The service_unit variables of the exporter for the production repository host."""
    # pgbackrest_exporter_pgpass and pgbackrest_tls_cert are registered by tasks before.
    registered = {"pgbackrest_exporter_pgpass": {"changed": False}, "pgbackrest_tls_cert": {"changed": False}}
    values = production_variables(**registered, **{"roadie_release_new": False, **overrides})
    task = next(t for t in exporter_tasks() if t.get("ansible.builtin.include_role", {}).get("name") == "service_unit")
    return dict(templar(values).template(trusted(task["vars"])))


def defaults(role: str) -> dict:
    return yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text())


def test_the_exporter_listens_on_the_repository_host_and_reads_the_primary_through_haproxy():
    unit = service()
    command = unit["service_unit_command"]
    assert command[:3] == ["/opt/roadie/venv/bin/python", "-m", "roadie.backup.exporter"]
    assert "--address=10.1.0.81" in command
    assert "--port=9854" in command
    assert "--interval=300" in command
    assert "--pgbackrest-config=/etc/pgbackrest/pgbackrest.conf" in command
    assert "--pgbackrest-user=postgres" in command
    assert "--db-host=10.1.0.52" in command
    assert "--db-port=5000" in command
    assert "--db-user=exporter" in command
    assert not [arg for arg in command if PASSWORD in arg]
    # The password from a 0600 file, the primary's certificate verified against the internal CA.
    assert unit["service_unit_environment"] == {
        "PGPASSFILE": "/var/lib/pgbackrest-home/exporter.pgpass",
        "PGSSLMODE": "verify-full",
        "PGSSLROOTCERT": "/etc/pgbackrest/tls/ca.crt",
    }
    assert unit["service_unit_user"] == "postgres"
    assert unit["service_unit_manifest"]["kind"] == "pgbackrest_exporter"
    assert unit["service_unit_manifest"]["ports"] == {"http": 9854}


def test_the_exporter_runs_only_on_the_repository_host():
    tasks = yaml.safe_load((ROLES / "pgbackrest" / "tasks" / "main.yml").read_text())
    include = next(t for t in tasks if t.get("ansible.builtin.include_tasks") == "exporter.yml")
    assert "_pgbackrest_is_repo_host" in include["when"]
    assert "pgbackrest_exporter_enabled" in include["when"]


def settings_checks() -> list[str]:
    """The exporter's settings assert, plus the shared password check (role password_check) it
    includes, as the expressions they evaluate."""
    minimum = yaml.safe_load((ROLES / "password_check" / "defaults" / "main.yml").read_text())
    rules = []
    for task in exporter_tasks():
        if (task.get("ansible.builtin.include_role") or {}).get("name") == "password_check":
            length = task["vars"].get("password_check_min_length", minimum["password_check_min_length"])
            rules += [f"{name} | length >= {length}" for name in task["vars"]["password_check_names"]]
    return rules + next(t for t in exporter_tasks() if "ansible.builtin.assert" in t)["ansible.builtin.assert"]["that"]


def test_the_exporter_settings_refuse_every_interface_and_a_missing_password():
    check = settings_checks()
    values = production_variables()

    def holds(**overrides) -> bool:
        return all(expression({**values, **overrides}, "{{ " + rule + " }}") for rule in check)

    assert holds()
    assert not holds(pgbackrest_exporter_address="0.0.0.0")
    assert not holds(pgbackrest_exporter_db_password="")
    assert not holds(pgbackrest_exporter_user="nobody")


def prometheus_jobs(hostvars: dict) -> dict:
    values = role_variables(
        "prometheus",
        {
            "prometheus_haproxy_stats_password": "s" * 20,
            "groups": {"all": list(hostvars), **GROUPS},
            "hostvars": hostvars,
        },
    )
    config = yaml.safe_load(render_template("prometheus", "prometheus.yml.j2", values))
    return {job["job_name"]: job for job in config["scrape_configs"]}


def test_prometheus_scrapes_the_exporter_on_the_pgbackrest_roles_port():
    assert (
        defaults("prometheus")["prometheus_pgbackrest_exporter_port"]
        == defaults("pgbackrest")["pgbackrest_exporter_port"]
    )
    [target] = prometheus_jobs(HOSTVARS)["pgbackrest"]["static_configs"]
    assert target["targets"] == ["10.1.0.81:9854"]
    assert target["labels"] == {"host": "backup", "region": "1", "az": "0"}


def test_a_port_set_for_the_repository_host_in_the_inventory_wins():
    hostvars = {**HOSTVARS, "backup": {**HOSTVARS["backup"], "pgbackrest_exporter_port": 19854}}
    jobs = prometheus_jobs(hostvars)
    assert jobs["pgbackrest"]["static_configs"][0]["targets"] == ["10.1.0.81:19854"]
    assert jobs["patroni"]["static_configs"][0]["targets"] == ["10.1.1.11:8008"]


def test_the_exporter_restarts_when_a_new_release_is_installed():
    assert service()["service_unit_restart"] is False
    assert service(roadie_release_new=True)["service_unit_restart"] is True


def test_the_password_file_names_the_primary_through_haproxy():
    values = production_variables()
    lines = render("pgbackrest", "exporter.pgpass.j2", values).splitlines()
    assert [line for line in lines if not line.startswith("#")] == [f"10.1.0.52:5000:*:exporter:{PASSWORD}"]
