"""The alerting rules of alerts/rules, as the repository declares them (production values)."""

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from roadie.errors import RoadieError
from roadie.paths import project_root


@dataclass(frozen=True)
class AlertRule:
    name: str
    severity: str
    duration: str  # the rule's `for:` ("" when it fires at once)
    file: str
    expr: str = ""

    @property
    def window_s(self) -> float:
        """The longest range or offset its expression looks back over: an alert such as
        PatroniLeaderChanged (offset 10m) clears only that long after its cause is gone."""
        seconds = [duration_seconds(d) for d in WINDOW.findall(self.expr)]
        return max(seconds, default=0.0)


WINDOW = re.compile(r"(?:\[|offset\s+)(\d+[smhd])")
DURATION_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def duration_seconds(text: str) -> float:
    """Seconds of a Prometheus duration (15s, 1h30m)."""
    parts = DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise RoadieError(f"not a Prometheus duration: {text!r}")
    return sum(int(number) * UNIT_S[unit] for number, unit in parts)


def rules_dir() -> Path:
    return project_root() / "alerts" / "rules"


def alerting_rules(directory: Path | None = None) -> list[AlertRule]:
    found = []
    for path in sorted((directory or rules_dir()).glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    severity = str(rule.get("labels", {}).get("severity", ""))
                    duration = str(rule.get("for", ""))
                    found.append(AlertRule(rule["alert"], severity, duration, path.name, str(rule["expr"])))
    return found
