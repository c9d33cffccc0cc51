"""Filter `prometheus_scaled_for`: a rule file with each alert's `for:` scaled by one factor.

The lab runs the production rules faster (a 10-minute `for:` would make every alert test wait
ten minutes): each `for:` is multiplied by the factor, rounded up to whole seconds, but never
shortened below two evaluation intervals, so one bad sample still never pages. Only `for:`
lines change; comments, annotations and expressions stay byte for byte what promtool tests.
"""

# Ansible loads this file by itself (a role plugin), so it parses durations on its own rather than
# importing roadie.alerts.rules.
import math
import re

FOR_LINE = re.compile(r"^(?P<indent>\s*for:\s*)(?P<duration>[0-9a-z]+)(?P<rest>\s*(#.*)?)$", re.M)
DURATION_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def duration_seconds(text: str) -> float:
    """Seconds of a Prometheus duration such as 1h30m or 15s."""
    parts = DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return sum(int(number) * UNIT_SECONDS[unit] for number, unit in parts)


def scaled_duration(duration: str, factor: float, evaluation_interval: str) -> str:
    original = duration_seconds(duration)
    floor = min(original, 2 * duration_seconds(evaluation_interval))
    return f"{max(math.ceil(original * factor), math.ceil(floor))}s"


def prometheus_scaled_for(text: str, factor: float, evaluation_interval: str) -> str:
    """The rule file's text with every `for:` scaled (unchanged when the factor is 1)."""
    factor = float(factor)
    if not 0 < factor <= 1:
        raise ValueError(f"the for: scale factor must be in (0, 1], not {factor}")
    if factor == 1:
        return text

    def scale(match: re.Match[str]) -> str:
        new = scaled_duration(match["duration"], factor, evaluation_interval)
        return f"{match['indent']}{new}{match['rest']}"

    return FOR_LINE.sub(scale, text)


class FilterModule:
    def filters(self) -> dict:
        return {"prometheus_scaled_for": prometheus_scaled_for}
