"""What a runbook's findings must show for a provoked alert: the injected cause, on one line.

The runner prints PromQL results as ``{label=value, ...} = number`` and shell output as it is;
a cause is found when one line of the findings holds all its fragments (and, for a series, a
value past the threshold), so that a diagnosis listing every host with a healthy value does
not count as naming the broken one.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

SERIES = re.compile(r"^\{(?P<labels>.*)\} = (?P<value>\S+)$")


@dataclass(frozen=True)
class Cause:
    """One thing the diagnosis must name, and how to recognise it."""

    describe: str
    found_in: Callable[[str], bool]


def line_with(describe: str, *fragments: str) -> Cause:
    """A line holding every fragment (a host name and the query text, say)."""

    def found(findings: str) -> bool:
        return any(all(f in line for f in fragments) for line in findings.splitlines())

    return Cause(describe, found)


def line_matching(describe: str, pattern: str) -> Cause:
    compiled = re.compile(pattern)
    return Cause(describe, lambda findings: any(compiled.search(line) for line in findings.splitlines()))


def series(describe: str, labels: dict[str, str], above: float | None = None, equal: float | None = None) -> Cause:
    """A PromQL result line whose labels include `labels` and whose value is past the bound."""

    def found(findings: str) -> bool:
        for line in findings.splitlines():
            match = SERIES.match(line.strip())
            if match is None:
                continue
            have = dict(part.split("=", 1) for part in match["labels"].split(", ") if "=" in part)
            if any(have.get(k) != v for k, v in labels.items()):
                continue
            try:
                value = float(match["value"])
            except ValueError:
                continue
            if (above is None or value > above) and (equal is None or value == equal):
                return True
        return False

    return Cause(describe, found)
