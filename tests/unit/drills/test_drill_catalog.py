"""Every drill is found from its package (in-region, restore, DR), documented, declares what it
measures, and is a command; `roadie drill list` shows them all."""

import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from roadie.cli.main import app
from roadie.drills import discovery
from roadie.drills.contract import Drill
from roadie.errors import RoadieError

EVERY_DRILL = {
    "app-node-loss",
    "db-primary-loss",
    "db-postgres-crash",
    "db-switchover",
    "redis-master-loss",
    "az-outage",
    "db-primary-freeze",
    "db-primary-partition",
    "rabbitmq-node-loss",
    "restore",
    "dr-failover",
    "dr-failback",
}


def test_discovery_finds_every_drill_of_every_package() -> None:
    found = discovery.drills()
    assert set(found) == EVERY_DRILL
    # The region failover before its failback: the failback starts where the failover left the lab.
    names = list(found)
    assert names.index("dr-failover") < names.index("dr-failback")


@pytest.mark.parametrize("name", sorted(EVERY_DRILL))
def test_drill_is_found_by_name_described_and_declares_its_measurements(name: str) -> None:
    drill = discovery.get(name)
    assert isinstance(drill, Drill)
    assert drill.name == name
    assert drill.description
    assert drill.needs, "every drill needs some hosts"
    names = [m.name for m in drill.measurements]
    assert names and len(names) == len(set(names))
    assert any(m.objective for m in drill.measurements), "nothing an objective could be set on"


def test_unknown_drill_names_the_known_ones() -> None:
    with pytest.raises(RoadieError, match="db-primary-loss"):
        discovery.get("meteor-strike")


def test_an_unknown_measurement_is_an_error_naming_the_known_ones() -> None:
    with pytest.raises(RoadieError, match=r"no measurement 'writes bak after fault' \(measurements: writes back"):
        discovery.drills()["db-primary-loss"].measurement("writes bak after fault")


def test_every_drill_is_a_cli_command_and_listed() -> None:
    help_text = CliRunner().invoke(app, ["drill", "--help"], terminal_width=200)
    listed = CliRunner().invoke(app, ["drill", "list"], terminal_width=400)
    assert help_text.exit_code == 0 and listed.exit_code == 0, listed.output
    for name in EVERY_DRILL:
        assert name in help_text.output
        assert name in listed.output
    assert "writes back after fault <= 30 s" in listed.output  # the lab inventory's objective


def _package(root: Path, name: str, body: str) -> str:
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "first.py").write_text(textwrap.dedent(body))
    return name


DRILL_SOURCE = """
    from roadie.drills.contract import Drill, Measurement

    class Meteor(Drill):
        name = "meteor-strike"
        description = "A drill defined outside roadie's packages."
        measurements = (Measurement("crater", "m"),)

        def run(self, lab, reports, goals):
            raise NotImplementedError
"""


def test_a_new_drill_class_is_found_without_a_list_and_a_duplicate_name_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    first = _package(tmp_path, "meteor_drills", DRILL_SOURCE)
    second = _package(tmp_path, "meteor_again", DRILL_SOURCE)
    try:
        assert list(discovery.find((first,))) == ["meteor-strike"]
        with pytest.raises(RoadieError, match=r"two drills are named meteor-strike: meteor_drills.first.Meteor"):
            discovery.find((first, second))
    finally:
        for module in [m for m in sys.modules if m.startswith(("meteor_drills", "meteor_again"))]:
            del sys.modules[module]
