"""The lab's base image and wheelhouse: what they hold follows what the roles install, and
their cache digests change exactly when their inputs do."""

from pathlib import Path

import pytest
import yaml

from roadie.lab import image, wheelhouse
from roadie.paths import ansible_dir
from tests.unit.backup.render import expression, variables

ROLES = ansible_dir() / "roles"
SPEC = image.load_spec()


def apt_packages(role: Path) -> set[str]:
    """Every package a role's apt tasks name, rendered with the role's defaults."""
    found: set[str] = set()
    for tasks in (role / "tasks").glob("*.yml"):
        for task in yaml.safe_load(tasks.read_text()) or []:
            apt = task.get("ansible.builtin.apt")
            if not apt:
                continue
            names = apt["name"]
            values = variables(role.name, "h", {"h": {"roadie_address": "127.1.0.9"}}, {"backup_repo": ["h"]})
            rendered = expression(values, names) if isinstance(names, str) else [expression(values, n) for n in names]
            found |= {rendered} if isinstance(rendered, str) else set(rendered)
    return found


# Roles for what the lab cannot run (their packages come from vendor repositories).
NOT_IN_THE_LAB = {"aerospike", "grafana", "loki", "promtail", "jaeger"}


@pytest.mark.parametrize("role", sorted(r for r in ROLES.iterdir() if r.name not in NOT_IN_THE_LAB), ids=str)
def test_the_image_holds_every_package_a_role_installs(role):
    missing = apt_packages(role) - set(SPEC.role_packages) - set(SPEC.boot_packages)
    assert not missing, f"add {sorted(missing)} to infra/lab/image.yml (role_packages)"


def test_the_checked_roles_do_install_packages():
    # The check above would pass vacuously if no apt task were found.
    assert "redis-server" in apt_packages(ROLES / "redis")
    assert {"postgresql-15", "python3-venv"} <= apt_packages(ROLES / "patroni")


def test_the_image_keeps_only_the_units_it_needs_enabled():
    assert "ssh.service" in SPEC.enabled_units
    assert not [u for u in SPEC.enabled_units if u.startswith(("redis", "postgresql", "epmd", "rabbitmq", "etcd"))]


def test_the_image_digest_follows_its_specification(tmp_path):
    text = image.spec_file().read_text()
    copy = tmp_path / "image.yml"
    copy.write_text(text)
    assert image.load_spec(copy).digest == SPEC.digest
    copy.write_text(text.replace("  - pgbackrest\n", "  - pgbackrest\n  - tmux\n"))
    assert image.load_spec(copy).digest != SPEC.digest


def test_the_wheelhouse_holds_what_the_roles_pip_install_pinned_as_they_pin_it():
    requirements = wheelhouse.host_requirements()
    patroni = yaml.safe_load((ROLES / "patroni" / "defaults" / "main.yml").read_text())["patroni_version"]
    moto = yaml.safe_load((ROLES / "moto" / "defaults" / "main.yml").read_text())["moto_version"]
    assert f"patroni[etcd3,psycopg3]=={patroni}" in requirements
    assert f"moto[server]=={moto}" in requirements
    # Only what runs on hosts: the operator's toolkit stays on the controller.
    assert not [r for r in requirements if r.startswith(("ansible", "matplotlib", "chaostoolkit", "typer"))]


def test_the_wheelhouse_digest_follows_the_requirements_and_the_hosts_python():
    target = wheelhouse.Target(Path("/cache/abc/rootfs"), "3.11.2")
    base = wheelhouse.digest(["a==1"], target)
    assert wheelhouse.digest(["a==2"], target) != base
    assert wheelhouse.digest(["a==1"], wheelhouse.Target(target.rootfs, "3.11.4")) != base
    assert wheelhouse.digest(["a==1"], wheelhouse.Target(Path("/cache/def/rootfs"), "3.11.2")) != base


def test_publishing_keeps_the_served_directory_and_mirrors_the_wheelhouse(tmp_path):
    first, second, served = tmp_path / "a", tmp_path / "b", tmp_path / "served"
    for directory, names in ((first, ["x-1.whl", "y-1.whl"]), (second, ["x-1.whl", "z-1.whl"])):
        directory.mkdir()
        for name in names:
            (directory / name).write_text(name)
    wheelhouse.publish(first, served)
    inode = served.stat().st_ino
    wheelhouse.publish(second, served)
    assert sorted(p.name for p in served.iterdir()) == ["x-1.whl", "z-1.whl"]
    assert served.stat().st_ino == inode  # running hosts mount this very directory
