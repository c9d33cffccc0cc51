"""`roadie runbook ...`: read a runbook and run its diagnosis against an environment."""

from typing import Annotated

import typer
from rich.table import Table

from roadie.console import console
from roadie.errors import RoadieError
from roadie.runbooks.environment import environment
from roadie.runbooks.parse import all_runbooks, load
from roadie.runbooks.runner import StepResult, run_step

app = typer.Typer(help="Runbooks: one per alert; diagnosis runs read-only, mitigation only when asked.")

Env = Annotated[str, typer.Option("--env", "-e", help="lab (default) or shell (variables exported by you).")]


@app.command("list")
def list_runbooks() -> None:
    """Every runbook and how many diagnosis and mitigation steps it has."""
    table = Table(title="Runbooks", title_justify="left")
    for column in ("alert", "title", "diagnosis", "mitigation"):
        table.add_column(column)
    for book in all_runbooks():
        table.add_row(book.alert, book.title, str(len(book.diagnosis)), str(len(book.mitigation)))
    console.print(table)


@app.command()
def show(alert: Annotated[str, typer.Argument(help="Alert name, e.g. AppLatencyP95Critical.")]) -> None:
    """Print a runbook."""
    console.print(load(alert).path.read_text(), markup=False)


@app.command()
def run(
    alert: Annotated[str, typer.Argument(help="Alert name, e.g. PatroniNoLeader.")],
    env: Env = "lab",
    mitigate: Annotated[bool, typer.Option(help="Also run the mitigation steps (each confirmed).")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before each mitigation step.")] = False,
) -> None:
    """Run the read-only diagnosis steps and print what they found; print (or run) the mitigation."""
    book = load(alert)
    variables = environment(env)
    console.print(f"[title]{book.title}[/] ({env})\n")
    console.print(f"[title]Meaning[/]: {book.sections.get('Meaning', '')}\n", markup=True)
    failed = 0
    for number, step in enumerate(book.diagnosis, 1):
        result = run_step(step, variables)
        failed += not result.ok
        _show(number, result)
    console.print("\n[title]Mitigation[/]")
    for number, step in enumerate(book.mitigation, 1):
        console.print(f"[warn]{number}. {step.description}[/]")
        console.print(step.code, markup=False)
        if mitigate and (yes or typer.confirm(f"Run mitigation step {number} against {env}?", default=False)):
            _show(number, run_step(step, variables))
    if failed:
        raise RoadieError(f"{failed} of {len(book.diagnosis)} diagnosis steps failed", exit_code=2)


def _show(number: int, result: StepResult) -> None:
    style = "ok" if result.ok else "bad"
    console.print(f"[{style}]{number}. {result.step.description or result.step.language}[/]")
    console.print(f"[muted]$ {result.step.code}[/]", markup=True, highlight=False)
    console.print(result.output, markup=False)
    console.print()
