"""Every role declares its inputs once (argument_specs), documents them, and is built alike."""

import pytest
import yaml

from roadie.paths import ansible_dir
from roadie.roledocs import argument_specs, defaults, roles, stale_readmes

ROLES = roles()


def test_every_role_has_an_argument_spec():
    all_roles = sorted(p.name for p in (ansible_dir() / "roles").iterdir() if p.is_dir())
    assert [r.name for r in ROLES] == all_roles


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_defaults_and_argument_spec_declare_the_same_variables(role):
    declared = set(argument_specs(role)["main"].get("options", {}))
    assert set(defaults(role)) == declared


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_variables_carry_the_role_prefix_and_a_description(role):
    prefix = role.name.split("_")[0]
    for name, option in argument_specs(role)["main"]["options"].items():
        assert name.startswith((role.name + "_", prefix + "_")), name
        assert option.get("description"), name


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_templates_say_they_are_managed(role):
    for template in (role / "templates").glob("*.j2"):
        head = template.read_text().splitlines()[:2]
        assert any("ansible_managed" in line for line in head), template.name


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_role_has_galaxy_metadata(role):
    meta = yaml.safe_load((role / "meta" / "main.yml").read_text())
    assert meta["galaxy_info"]["role_name"] == role.name


def test_role_readmes_match_their_argument_specs():
    assert stale_readmes() == [], "run: .venv/bin/python -m roadie.roledocs"
