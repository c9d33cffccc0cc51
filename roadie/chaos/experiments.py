"""The experiments in chaos/ and how to run one: `chaos run` in a subprocess (so a crash or
a hang in an activity cannot take the CLI down with it), its journal kept as the report."""

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roadie.errors import RoadieError
from roadie.paths import project_root

# Longer than any experiment's waits added up; a run past it is stuck, not slow.
RUN_TIMEOUT_S = 900


def directory() -> Path:
    return project_root() / "chaos"


def names() -> list[str]:
    return sorted(p.stem for p in directory().glob("*.json"))


def load(name: str) -> dict[str, Any]:
    path = directory() / f"{name}.json"
    if not path.exists():
        raise RoadieError(f"unknown chaos experiment '{name}' (experiments: {', '.join(names())})")
    return json.loads(path.read_text())


@dataclass(frozen=True)
class Outcome:
    """What a run ended with, read from its journal."""

    name: str
    status: str  # completed, failed, aborted, interrupted
    deviated: bool
    journal: Path
    steady_before: bool | None
    steady_after: bool | None
    rollbacks_ok: bool
    measurements: dict[str, Any]

    @property
    def passed(self) -> bool:
        return self.status == "completed" and not self.deviated and self.rollbacks_ok


def _chaos() -> str:
    """The chaos CLI installed beside this Python (the project's virtualenv)."""
    return str(Path(sys.executable).parent / "chaos")


def run(name: str, reports: Path) -> Outcome:
    """Run one experiment against the lab; rollbacks always play, so the lab is healed
    even when the hypothesis or the method failed."""
    path = directory() / f"{name}.json"
    load(name)  # fails early, naming the known experiments
    out = reports / f"chaos-{name}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"
    out.mkdir(parents=True, exist_ok=True)
    journal = out / "journal.json"
    command = [
        _chaos(),
        "--no-version-check",
        "--log-file",
        str(out / "chaostoolkit.log"),
        "run",
        "--rollback-strategy",
        "always",
        "--journal-path",
        str(journal),
        str(path),
    ]
    with (out / "output.txt").open("w") as output:
        try:
            subprocess.run(command, stdout=output, stderr=subprocess.STDOUT, check=False, timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired as exc:
            raise RoadieError(f"chaos experiment {name} still running after {RUN_TIMEOUT_S}s: see {out}") from exc
    if not journal.exists():
        raise RoadieError(f"chaos experiment {name} wrote no journal: see {out / 'output.txt'}")
    return outcome(name, journal)


def outcome(name: str, journal_path: Path) -> Outcome:
    journal = json.loads(journal_path.read_text())
    steady = journal.get("steady_states") or {}

    def met(phase: str) -> bool | None:
        state = steady.get(phase)
        return None if state is None else bool(state.get("steady_state_met"))

    rollbacks = journal.get("rollbacks") or []
    return Outcome(
        name=name,
        status=str(journal.get("status")),
        deviated=bool(journal.get("deviated")),
        journal=journal_path,
        steady_before=met("before"),
        steady_after=met("after"),
        rollbacks_ok=all(r.get("status") == "succeeded" for r in rollbacks),
        measurements=measurements(journal),
    )


def measurements(journal: dict[str, Any]) -> dict[str, Any]:
    """The numbers worth printing: each steady-state probe's value before and after, the
    method's waits (failover and write recovery) and the workload's whole-run summary."""
    found: dict[str, Any] = {}
    for phase, state in (journal.get("steady_states") or {}).items():
        for probe in (state or {}).get("probes", []):
            found[f"{phase}: {probe['activity']['name']}"] = probe.get("output")
    for step in journal.get("run") or []:
        if step["activity"]["type"] == "probe" and step["activity"]["name"] != "workload so far":
            found[f"method: {step['activity']['name']}"] = step.get("output")
    if "roadie_workload" in journal:
        found["workload"] = journal["roadie_workload"]
    return found
