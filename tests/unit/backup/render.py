"""Render a role's templates offline for one production-like host (no lab root)."""

from typing import Any

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader
from ansible.template import Templar, trust_as_template

from roadie.inventory import ports
from roadie.paths import ansible_dir

init_plugin_loader()
ROLES = ansible_dir() / "roles"


def _trusted(value: Any) -> Any:
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {k: _trusted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_trusted(v) for v in value]
    return value


def variables(
    role: str, host: str, hostvars: dict[str, dict[str, Any]], groups: dict[str, list[str]], **overrides: Any
):
    role_dir = ROLES / role
    defaults = yaml.safe_load((role_dir / "defaults" / "main.yml").read_text()) or {}
    role_vars_file = role_dir / "vars" / "main.yml"
    role_vars = yaml.safe_load(role_vars_file.read_text()) if role_vars_file.exists() else {}
    return {
        "inventory_hostname": host,
        "roadie_environment": "production",
        "roadie_install_packages": True,
        "ansible_managed": "Ansible managed",
        **ports.ansible_variables(),
        "groups": {"all": list(hostvars), **groups},
        "hostvars": hostvars,
        **hostvars[host],
        **defaults,
        **(role_vars or {}),
        **overrides,
    }


def render(role: str, template: str, values: dict[str, Any]) -> str:
    source = (ROLES / role / "templates" / template).read_text()
    templar = Templar(loader=DataLoader(), variables=_trusted(values))
    return str(templar.template(trust_as_template(source)))


def expression(values: dict[str, Any], text: str) -> Any:
    templar = Templar(loader=DataLoader(), variables=_trusted(values))
    return templar.template(trust_as_template(text))
