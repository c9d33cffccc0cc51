"""Render a role's templates and task variables offline, as Ansible would for one host."""

from pathlib import Path
from typing import Any

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader
from ansible.template import Templar, trust_as_template

from roadie.inventory import ports
from roadie.paths import ansible_dir

init_plugin_loader()
ROLES = ansible_dir() / "roles"
ADDRESS = "10.1.2.61"
# A small production-like inventory: one monitoring host and one host per service group.
GROUPS = {
    "all": ["mon", "db-1", "cache-1", "app-1", "mq-1", "lb", "pg-lb", "suppliers"],
    "monitoring": ["mon"],
    "postgres": ["db-1"],
    "etcd": ["db-1"],
    "redis": ["cache-1"],
    "sentinel": ["cache-1"],
    "app": ["app-1"],
    "rabbitmq": ["mq-1"],
    "lb": ["lb"],
    "pg_lb": ["pg-lb"],
    "suppliers": ["suppliers"],
}
HOSTVARS = {
    name: {"roadie_address": f"10.1.{i}.{i + 10}", "roadie_region": 1, "roadie_az": (i % 3) + 1}
    for i, name in enumerate(GROUPS["all"])
}
HOSTVARS["mon"]["roadie_address"] = ADDRESS


def role_variables(role: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The role's defaults plus production host facts (no lab root), overrides last."""
    defaults = yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text()) or {}
    base = {
        "inventory_hostname": "mon",
        "roadie_address": ADDRESS,
        "roadie_region": 1,
        "roadie_az": 1,
        "roadie_environment": "production",
        "roadie_install_packages": True,
        "groups": GROUPS,
        "hostvars": HOSTVARS,
        "group_names": ["monitoring"],
        "role_path": str(ROLES / role),
        "ansible_managed": "Ansible managed",
        **ports.ansible_variables(),
    }
    registered = {}
    for tasks in (ROLES / role / "tasks").glob("*.yml"):
        for task in yaml.safe_load(tasks.read_text()) or []:
            if "register" in task:
                registered[task["register"]] = {"changed": False}
    return {**base, **registered, **defaults, **(overrides or {})}


def trusted(value: Any) -> Any:
    """Mark strings as templates (ansible-core 2.19 renders only trusted ones, as it does role files)."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {k: trusted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [trusted(v) for v in value]
    return value


def templar(variables: dict[str, Any]) -> Templar:
    return Templar(loader=DataLoader(), variables=trusted(variables))


def render_template(role: str, name: str, variables: dict[str, Any]) -> str:
    source = (ROLES / role / "templates" / name).read_text()
    return str(templar(variables).template(trust_as_template(source)))


def service_vars(role: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The service_unit variables the role's tasks pass (its command line, manifest...)."""
    tasks = yaml.safe_load((ROLES / role / "tasks" / "main.yml").read_text())
    task = next(t for t in tasks if t.get("ansible.builtin.include_role", {}).get("name") == "service_unit")
    return dict(templar(variables).template(trusted(task["vars"])))


def systemd_unit(role: str, variables: dict[str, Any]) -> str:
    unit = service_vars(role, variables)
    unit_vars = {
        **variables,
        **yaml.safe_load((ROLES / "service_unit" / "defaults" / "main.yml").read_text()),
        **unit,
        "service_unit_manager": "systemd",
    }
    unit_vars.setdefault("service_unit_group", unit_vars["service_unit_user"])
    return render_template("service_unit", "systemd.service.j2", unit_vars)


def write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text)
    return path
