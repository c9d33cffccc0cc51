"""`roadie chaos ...`: Chaos Toolkit experiments (chaos/*.json) against the lab."""

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from roadie.chaos import activities, experiments, scenarios
from roadie.console import console
from roadie.errors import RoadieError
from roadie.paths import project_root

app = typer.Typer(help="Chaos Toolkit experiments: steady state, fault, rollbacks.", no_args_is_help=True)

Reports = Annotated[Path | None, typer.Option("--reports", help="Where journals go (default: reports/).")]


@app.command("list")
def list_experiments() -> None:
    """The experiments in chaos/ and what each does."""
    table = Table(title="chaos experiments")
    for column in ("experiment", "title", "method"):
        table.add_column(column)
    for name in experiments.names():
        experiment = experiments.load(name)
        method = ", ".join(a["name"] for a in experiment["method"] if a["type"] == "action")
        table.add_row(name, experiment["title"], method)
    console.print(table)


@app.command("activities")
def list_activities() -> None:
    """The actions and probes experiments can call (roadie.chaos.<subsystem>.{actions,probes})."""
    table = Table(title="chaos activities")
    for column in ("type", "module", "function", "arguments", "what it does"):
        table.add_column(column)
    for activity in activities():
        arguments = ", ".join(a["name"] for a in activity["arguments"] if a["name"] not in ("configuration", "secrets"))
        summary = (activity["doc"] or "").split("\n\n")[0].replace("\n", " ")
        table.add_row(activity["type"], activity["mod"], activity["name"], arguments, summary)
    console.print(table)


@app.command("run")
def run(
    experiment: Annotated[str, typer.Argument(help="Name of an experiment in chaos/.")], reports: Reports = None
) -> None:
    """Run one experiment against the lab; exits non-zero if it deviated or failed."""
    with console.status(f"[{experiment}] running (workload, steady state, fault, steady state, rollbacks)"):
        outcome = experiments.run(experiment, reports or project_root() / "reports")
    table = Table(title=f"chaos {experiment}: {outcome.status}{' (deviated)' if outcome.deviated else ''}")
    table.add_column("measurement")
    table.add_column("value")
    for key, value in outcome.measurements.items():
        if key != "workload":
            table.add_row(key, str(value))
    console.print(table)
    console.print(f"journal: {outcome.journal}")
    if not outcome.passed:
        what = "deviated from its steady state" if outcome.deviated else f"ended {outcome.status}"
        healed = "" if outcome.rollbacks_ok else "; a rollback failed, check the lab"
        raise RoadieError(f"chaos experiment {experiment} {what}{healed}: see {outcome.journal}")


@app.command("generate")
def generate(
    check: Annotated[bool, typer.Option("--check", help="Only report stale experiments.")] = False,
) -> None:
    """Write chaos/*.json from their declarations (roadie/chaos/scenarios.py)."""
    if scenarios.main(["--check"] if check else []) != 0:
        raise typer.Exit(1)
