"""A runbook file, read: its sections and its marked command blocks.

Steps are fenced code blocks whose info string names the language and the purpose:
``promql diagnose`` (a query run against Prometheus), ``sh diagnose`` (a read-only shell
command) and ``sh mitigate`` (a change, run only when asked, with confirmation). The
paragraph right above a block says what the step is for.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from roadie.errors import RoadieError
from roadie.paths import project_root

SECTIONS = ("Meaning", "Impact", "Diagnosis", "Mitigation")
FENCE = re.compile(r"^```(?P<lang>promql|sh) (?P<purpose>diagnose|mitigate)\n(?P<code>.*?)^```$", re.M | re.S)

Language = Literal["promql", "sh"]
Purpose = Literal["diagnose", "mitigate"]


@dataclass(frozen=True)
class Step:
    """One command of a runbook."""

    language: Language
    purpose: Purpose
    code: str
    description: str


@dataclass(frozen=True)
class Runbook:
    """One alert's runbook."""

    alert: str
    path: Path
    title: str
    sections: dict[str, str]
    steps: tuple[Step, ...]

    @property
    def diagnosis(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.purpose == "diagnose")

    @property
    def mitigation(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.purpose == "mitigate")


def runbooks_dir() -> Path:
    return project_root() / "runbooks"


def parse(path: Path) -> Runbook:
    text = path.read_text()
    title = next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), path.stem)
    sections = _sections(text)
    steps = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip().split("\n\n")[-1].strip()
        description = "" if before.startswith(("#", "```")) else " ".join(before.split())
        steps.append(
            Step(
                language=match["lang"],  # type: ignore[arg-type]
                purpose=match["purpose"],  # type: ignore[arg-type]
                code=match["code"].strip(),
                description=description,
            )
        )
    return Runbook(alert=path.stem, path=path, title=title, sections=sections, steps=tuple(steps))


def _sections(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("## "):
            current = line[3:].strip()
            found[current] = ""
        elif current is not None:
            found[current] += line + "\n"
    return {k: v.strip() for k, v in found.items()}


def all_runbooks(directory: Path | None = None) -> list[Runbook]:
    folder = directory or runbooks_dir()
    return [parse(p) for p in sorted(folder.glob("*.md")) if p.name != "README.md"]


def load(alert: str, directory: Path | None = None) -> Runbook:
    folder = directory or runbooks_dir()
    path = folder / f"{alert}.md"
    if not path.exists():
        known = ", ".join(r.alert for r in all_runbooks(folder))
        raise RoadieError(f"no runbook for alert '{alert}' (runbooks: {known})")
    return parse(path)
