"""`roadie provoke ...`: make an alert fire on the lab (a bounded, self-healing fault), watch it
page and clear, and check that its runbook names the cause."""

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.table import Table

from roadie.console import console
from roadie.errors import RoadieError
from roadie.paths import project_root
from roadie.provoke import table
from roadie.provoke.campaign import Campaign, Outcome
from roadie.provoke.catalog import CATALOG, NOT_PROVOKED, find
from roadie.provoke.context import Context

app = typer.Typer(help="Provocations: make an alert fire on the lab, watch it notify and resolve.")


@app.command("list")
def list_provocations() -> None:
    """Every provocation: the alerts it must fire, those it must not, and its tier."""
    listing = Table(title="Provocations", title_justify="left")
    for column in ("provocation", "fires", "must not fire", "tier", "what it does"):
        listing.add_column(column)
    for one in CATALOG:
        listing.add_row(one.name, ", ".join(one.alerts), ", ".join(one.silent), one.tier, one.summary)
    console.print(listing)
    console.print(f"{len(NOT_PROVOKED)} alerts have no provocation yet: {', '.join(sorted(NOT_PROVOKED))}")


@app.command()
def run(
    names: Annotated[list[str], typer.Argument(help="Provocation or alert names; 'all' for the whole catalog.")],
    results: Annotated[Path | None, typer.Option(help="Write the outcomes as JSON to this file.")] = None,
) -> None:
    """Inject, watch the alerts fire and notify, run the runbooks, heal, watch them resolve."""
    chosen = list(CATALOG) if names == ["all"] else [find(name) for name in names]
    outcomes = run_campaign(chosen, results)
    failed = [o.provocation for o in outcomes if failures(o)]
    for outcome in outcomes:
        for problem in failures(outcome):
            console.print(f"[bad]{outcome.provocation}: {problem}[/]")
    if failed:
        raise RoadieError(
            f"{len(failed)} of {len(outcomes)} provocations did not prove their alerts: {', '.join(failed)}"
        )
    console.print(f"[ok]{len(outcomes)} provocations proved their alerts[/]")


def run_campaign(chosen: list, results: Path | None) -> list[Outcome]:
    ctx = Context.for_lab()
    started = time.monotonic()
    outcomes = Campaign(ctx, progress=lambda line: console.print(line, markup=False, highlight=False)).run(chosen)
    took = time.monotonic() - started
    console.print(f"campaign of {len(chosen)} provocations took {took:.0f}s")
    if results is not None:
        write_results(results, outcomes, took)
    return outcomes


def write_results(path: Path, outcomes: list[Outcome], took: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "finished": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "took_s": round(took),
        "for_scale": _lab_for_scale(),
        "outcomes": [o.as_dict() for o in outcomes],
    }
    path.write_text(json.dumps(body, indent=1, sort_keys=True) + "\n")


def _lab_for_scale() -> str:
    monitoring = project_root() / "ansible" / "inventories" / "lab" / "group_vars" / "monitoring.yml"
    return str(yaml.safe_load(monitoring.read_text()).get("prometheus_alert_for_scale", 1))


def failures(outcome: Outcome) -> list[str]:
    """Why an outcome does not prove its alerts (empty when it does)."""
    problems = list(outcome.errors)
    for timeline in outcome.timelines:
        bound = outcome.bounds.get(timeline.alert, 0)
        if timeline.firing_at is None:
            problems.append(f"{timeline.alert} never fired")
            continue
        if timeline.pending_at is not None and timeline.firing_at - timeline.pending_at > bound:
            problems.append(f"{timeline.alert} took {timeline.firing_at - timeline.pending_at:.0f}s from pending "
                            f"to firing (bound: for + two evaluations = {bound:.0f}s)")  # fmt: skip
        inhibitor = outcome.inhibited.get(timeline.alert)
        if inhibitor and timeline.notified_at is not None:
            problems.append(f"{timeline.alert} was notified although {inhibitor} inhibits it")
        if not inhibitor and timeline.notified_at is None:
            problems.append(f"{timeline.alert} fired but no notification of this run reached the recorder")
        if timeline.resolved_at is None:
            problems.append(f"{timeline.alert} did not resolve after the heal")
    for diagnosis in outcome.diagnoses:
        if diagnosis.missing:
            problems.append(f"runbook {diagnosis.alert} did not name: {'; '.join(diagnosis.missing)}")
        if diagnosis.failed_steps:
            problems.append(f"runbook {diagnosis.alert}: steps failed: {'; '.join(diagnosis.failed_steps)}")
    problems += [f"{alert} fired during a benign event" for alert in outcome.silent_fired]
    return problems


@app.command("table")
def table_command(
    check: Annotated[bool, typer.Option("--check", help="Fail when docs/observability.md is out of date.")] = False,
) -> None:
    """Regenerate the alert table of docs/observability.md from docs/alert-provocations.json."""
    if check:
        if not table.check():
            raise RoadieError("docs/observability.md's alert table is out of date: run 'roadie provoke table'")
        console.print("docs/observability.md's alert table is up to date")
        return
    console.print(f"wrote {table.write()}")
