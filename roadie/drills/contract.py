"""The contract every drill implements, wherever it lives (in-region faults in `roadie.drills`,
the region failover in `roadie.dr`, the restore in `roadie.backup`), and the typed results it
returns.

A drill declares, once, what it measures (`Measurement`: a name and a unit). Objectives
(`Goal`) name one of those measurements, so an objective with a typo is refused before the drill
starts instead of reading "not measured" afterwards; the figures a run reports must be exactly
the declared ones (`figures`), so a drill cannot report under a misspelt name either. A run
returns a `DrillResult`: its figures, and `Check`s of three kinds:
- an objective: a figure against the limit an operator set (met or missed; a figure not
  measured misses it, an objective cannot be met by accident);
- an invariant: what must hold whatever the objectives (no acknowledged write lost, never two
  writable primaries, the restored data equals the source);
- information: reported, not judged.
PASSED means every invariant held and every objective was met.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Literal

from roadie.drills.topology import Need
from roadie.errors import RoadieError
from roadie.lab.inventory import Lab

NOT_MEASURED = "not measured"

Figure = float | int | None  # None: not measured
CheckKind = Literal["objective", "invariant", "info"]


@dataclass(frozen=True)
class Measurement:
    """A figure a drill measures. `objective` False: an invariant or a count that describes the
    run (acknowledged writes lost, bookings confirmed), on which no objective may be set."""

    name: str
    unit: str
    objective: bool = True


@dataclass(frozen=True)
class Goal:
    """An objective: the measured figure must be at most `limit` (every measurement is "lower
    is better"). `source` says who set it (the inventory file), for the report."""

    measurement: Measurement
    limit: float
    source: str = ""

    def judge(self, value: Figure, missing: str = NOT_MEASURED) -> "Check":
        """Met when measured and within the limit; a figure not measured is missed and shown as
        `missing` (e.g. "not recovered after 90 s")."""
        unit = self.measurement.unit
        return Check(
            name=self.measurement.name,
            value=missing if value is None else value,
            goal=f"<= {self.limit:g} {unit}",
            met=value is not None and value <= self.limit,
            kind="objective",
        )


@dataclass(frozen=True)
class Check:
    """One line of a report's verdict. `met` None: not judged (information, or an invariant
    whose figure this drill cannot measure, which the report says)."""

    name: str
    value: Any
    goal: str
    met: bool | None
    kind: CheckKind = "invariant"

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "goal": self.goal, "met": self.met, "kind": self.kind}


def invariant(name: str, value: Any, goal: str, met: bool | None) -> Check:
    return Check(name, value, goal, met, "invariant")


def info(name: str, value: Any) -> Check:
    return Check(name, value, "reported", None, "info")


@dataclass(frozen=True)
class DrillResult:
    """What one run of a drill found. `details` are the drill kind's own report sections
    (probes, timeline, checker verdicts, DR steps), kept for report.json and report.md."""

    drill: str
    description: str
    started: float
    target: tuple[str, ...]
    measured: Mapping[str, Figure]
    checks: tuple[Check, ...]
    report: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Frozen all the way down: a result is a record of what happened.
        object.__setattr__(self, "measured", MappingProxyType(dict(self.measured)))
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))

    @property
    def objectives(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.kind == "objective")

    @property
    def invariants_ok(self) -> bool:
        return all(c.met is not False for c in self.checks if c.kind == "invariant")

    @property
    def objectives_met(self) -> bool:
        return all(c.met is True for c in self.objectives)

    @property
    def passed(self) -> bool:
        return self.invariants_ok and self.objectives_met

    def check(self, name: str) -> Check:
        """The check of that name; an unknown name is an error, never "met = None"."""
        for one in self.checks:
            if one.name == name:
                return one
        raise KeyError(f"drill {self.drill} has no check {name!r} (checks: {', '.join(c.name for c in self.checks)})")

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.details,
            "drill": self.drill,
            "description": self.description,
            "started": self.started,
            "target": list(self.target),
            "measured": dict(self.measured),
            "checks": [c.as_dict() for c in self.checks],
            "invariants_ok": self.invariants_ok,
            "objectives_met": self.objectives_met,
            "passed": self.passed,
            "report": self.report,
        }


class Drill(ABC):
    """One drill: a fault (or a recovery procedure) run against the lab, measured, judged.

    Implementations are found from their package (`roadie.drills.discovery`), so a new drill
    is a new class, not a line in a list. Each declares:
    - `name` (the CLI command), `description` (its help);
    - `needs`: the hosts the lab must have (`roadie drill all` skips it, saying why, otherwise);
    - `measurements`: every figure its results carry, each objective's measurement among them.
    `run` must return a result whose `measured` has exactly the declared names (`figures`)
    and one objective check per goal it was given (`judge`).
    """

    name: ClassVar[str]
    description: ClassVar[str]
    needs: ClassVar[tuple[Need, ...]] = ()
    measurements: ClassVar[tuple[Measurement, ...]] = ()

    @classmethod
    def measurement(cls, name: str) -> Measurement:
        for one in cls.measurements:
            if one.name == name:
                return one
        known = ", ".join(m.name for m in cls.measurements)
        raise RoadieError(f"drill {cls.name} has no measurement {name!r} (measurements: {known})")

    @abstractmethod
    def run(self, lab: Lab, reports: Path, goals: Sequence[Goal]) -> DrillResult:
        """Run the drill against the lab, judge it against `goals`, write its report under
        `reports`, and return the result."""


def figures(drill: type[Drill] | Drill, values: Mapping[str, Figure]) -> dict[str, Figure]:
    """The run's figures, checked against the drill's declaration: a figure reported under an
    undeclared name, or a declared one left out, is a bug in the drill, said at once."""
    declared = [m.name for m in drill.measurements]
    unknown = sorted(set(values) - set(declared))
    absent = [name for name in declared if name not in values]
    if unknown or absent:
        raise RoadieError(
            f"drill {drill.name} reported undeclared measurements {unknown} and left out {absent}: "
            "declare each in its `measurements` (None when not measured)"
        )
    return {name: values[name] for name in declared}


def judge(goals: Iterable[Goal], measured: Mapping[str, Figure], missing: str = NOT_MEASURED) -> list[Check]:
    """One objective check per goal; a goal whose measurement the run lacks is a bug."""
    checks = []
    for goal in goals:
        if goal.measurement.name not in measured:
            raise RoadieError(f"objective on {goal.measurement.name!r}, which this run does not measure")
        checks.append(goal.judge(measured[goal.measurement.name], missing))
    return checks
