"""The port table: read strictly, named like the registry the roles publish from it."""

from collections.abc import Iterator

import pytest
import yaml

from roadie.inventory import ports
from roadie.inventory.ports import PortTableError
from roadie.paths import ansible_dir


def registry_entries() -> Iterator[tuple[str, dict]]:
    """(kind, ports) of every registry entry a role's tasks write with literal keys."""
    for tasks in sorted((ansible_dir() / "roles").glob("*/tasks/*.yml")):
        for task in yaml.safe_load(tasks.read_text()) or []:
            manifest = (task.get("vars") or {}).get("service_unit_manifest")
            if isinstance(manifest, dict) and isinstance(manifest.get("ports"), dict) and "{{" not in manifest["kind"]:
                yield manifest["kind"], manifest["ports"]


def test_every_published_port_has_its_entry_in_the_table():
    entries = dict(registry_entries())
    assert {"patroni", "etcd", "haproxy_pg", "sentinel", "redis", "app"} <= set(entries)
    for kind, published in entries.items():
        assert set(published) <= set(ports.table()[kind]), kind


def test_a_role_default_reads_its_number_from_the_table():
    assert ports.referenced("{{ roadie_ports.sentinel.sentinel }}") == ("sentinel", "sentinel")
    assert ports.resolve("{{ roadie_ports.sentinel.sentinel }}") == 26379
    assert ports.referenced("{{ roadie_address }}") is None
    assert ports.resolve(26379) == 26379


def test_an_unknown_service_or_port_is_named():
    with pytest.raises(PortTableError, match="no service 'sentinal'"):
        ports.port("sentinal", "sentinel")
    with pytest.raises(PortTableError, match=r"sentinel has no port 'redis' \(ports: sentinel\)"):
        ports.port("sentinel", "redis")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("ports: {}", "no 'roadie_ports' mapping"),
        ("roadie_ports: {redis: 6379}", "redis must map port names to numbers"),
        ("roadie_ports: {redis: {redis: '6379'}}", "redis.redis is '6379', not a port number"),
        ("roadie_ports: {redis: {redis: 65536}}", "redis.redis is 65536, not a port number"),
    ],
)
def test_a_malformed_table_is_an_error_naming_the_entry(text, error):
    with pytest.raises(PortTableError) as raised:
        ports.parse(text, "ports.yml")
    assert raised.value.message == f"ports.yml: {error}"
