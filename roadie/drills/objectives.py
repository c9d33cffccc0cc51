"""Drill objectives an operator sets, from the inventory's group_vars: one limit per drill and
measurement.

- `drill_objectives_default` (ansible/playbooks/group_vars/all/drills.yml, shared by every
  inventory): the design documents' targets;
- `drill_objectives` (an inventory's group_vars/all/drills.yml): that site's own, replacing a
  default measurement by measurement (the lab sets tighter ones, each with its margin over
  what the lab measured).

Two variables, not one: the shared group_vars beat an inventory's under Ansible's precedence,
so a site could not override a shared value of the same name. Everything is validated before
a drill starts: an unknown drill or measurement, a measurement that is an invariant, a value
that is not a number >= 0, or one objective given twice is refused, naming the file.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from roadie.drills.contract import Drill, Goal
from roadie.errors import RoadieError
from roadie.paths import lab_group_vars_dir, shared_group_vars_dir

DEFAULTS_VARIABLE = "drill_objectives_default"
SITE_VARIABLE = "drill_objectives"
FILE = Path("all") / "drills.yml"


def lab_objectives(drills: Mapping[str, type[Drill]]) -> dict[str, tuple[Goal, ...]]:
    """The lab's objectives: the defaults, then the lab inventory's own."""
    return load(
        drills,
        [(shared_group_vars_dir() / FILE, DEFAULTS_VARIABLE), (lab_group_vars_dir() / FILE, SITE_VARIABLE)],
    )


def load(drills: Mapping[str, type[Drill]], sources: list[tuple[Path, str]]) -> dict[str, tuple[Goal, ...]]:
    """drill -> its goals, later sources replacing earlier ones per measurement. A file that
    does not exist sets nothing (an inventory may keep the defaults)."""
    goals: dict[str, dict[str, Goal]] = {name: {} for name in drills}
    for path, variable in sources:
        if path.exists():
            for goal_drill, goal in parse(drills, _read(path).get(variable) or {}, str(path)):
                goals[goal_drill][goal.measurement.name] = goal
    return {name: tuple(by_measurement.values()) for name, by_measurement in goals.items()}


def parse(drills: Mapping[str, type[Drill]], data: Any, source: str) -> list[tuple[str, Goal]]:
    """(drill, goal) for each `drill: {measurement: limit}` entry, validated."""
    if not isinstance(data, Mapping):
        raise RoadieError(f"{source}: drill objectives must map drill names to {{measurement: limit}}")
    found = []
    for drill_name, limits in data.items():
        if drill_name not in drills:
            raise RoadieError(f"{source}: objectives for unknown drill {drill_name!r} (drills: {', '.join(drills)})")
        if not isinstance(limits, Mapping):
            raise RoadieError(f"{source}: {drill_name}: expected {{measurement: limit}}, got {limits!r}")
        cls = drills[drill_name]
        for name, limit in limits.items():
            found.append((drill_name, _goal(cls, str(name), limit, source)))
    return found


def _goal(cls: type[Drill], name: str, limit: Any, source: str) -> Goal:
    try:
        measurement = cls.measurement(name)
    except RoadieError as exc:
        raise RoadieError(f"{source}: {exc.message}") from None
    where = f"{source}: {cls.name}: {name!r}"
    if not measurement.objective:
        raise RoadieError(f"{where} is an invariant or a count of the run, not something an objective may relax")
    if isinstance(limit, bool) or not isinstance(limit, int | float):
        raise RoadieError(f"{where}: the objective must be a number of {measurement.unit}, got {limit!r}")
    if limit < 0:
        raise RoadieError(f"{where}: the objective must be >= 0 {measurement.unit}, got {limit:g}")
    return Goal(measurement, float(limit), source)


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML that refuses a key given twice (PyYAML keeps the last one silently): one
    objective per measurement and drill."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if key in seen:
                raise RoadieError(f"{key!r} is given twice (line {key_node.start_mark.line + 1})")
            seen.add(key)
        return super().construct_mapping(node, deep)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(), Loader=_UniqueKeyLoader)
    except RoadieError as exc:
        raise RoadieError(f"{path}: {exc.message}") from None
    except yaml.YAMLError as exc:
        raise RoadieError(f"{path} is not valid YAML: {exc}") from None
    return data or {}
