"""Every drill is discoverable by name, documented, promises measurable goals, and is a command."""

import pytest
from typer.testing import CliRunner

from roadie.cli.main import app
from roadie.drills import catalog
from roadie.drills.base import Drill
from roadie.errors import RoadieError


@pytest.mark.parametrize("name", list(catalog.DRILLS))
def test_drill_is_found_by_name_and_described(name):
    drill = catalog.get(name)
    assert isinstance(drill, Drill)
    assert drill.name == name
    assert drill.description
    assert any(goal.name == "acknowledged writes lost" and goal.limit == 0 for goal in drill.goals)


def test_unknown_drill_names_the_known_ones():
    with pytest.raises(RoadieError, match="db-primary-loss"):
        catalog.get("meteor-strike")


def test_every_drill_is_a_cli_command():
    result = CliRunner().invoke(app, ["drill", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for name in catalog.DRILLS:
        assert name in result.output
