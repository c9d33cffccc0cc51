"""`roadie drill ...`: failover drills against the lab, with measured reports."""

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from roadie.console import console
from roadie.drills import catalog, runner
from roadie.errors import RoadieError
from roadie.lab.inventory import load_lab
from roadie.paths import project_root

app = typer.Typer(
    help="Failover drills: inject a fault under load, measure detection, RTO and RPO.", no_args_is_help=True
)

Reports = Annotated[Path, typer.Option("--reports", help="Where reports go.")]


def _reports_default() -> Path:
    return project_root() / "reports"


@app.command("list")
def list_drills() -> None:
    """The drills and what each promises."""
    table = Table(title="drills")
    for column in ("drill", "fault", "goals"):
        table.add_column(column)
    for name, cls in catalog.DRILLS.items():
        goals = ", ".join(f"{g.name} <= {g.limit:g} {g.unit}" for g in cls.goals)
        table.add_row(name, cls.description, goals)
    console.print(table)


def _run_one(name: str, reports: Path | None) -> None:
    result = runner.run(catalog.get(name), load_lab(), reports or _reports_default())
    _print_summary([result])
    if not result["invariants_ok"]:
        raise RoadieError(f"drill {name} broke an invariant: see {result['report']}/report.md")


def _register(name: str, description: str) -> None:
    """One command per drill, so `roadie drill db-primary-loss` reads as what it does."""

    def command(reports: Reports = None) -> None:  # type: ignore[assignment]
        _run_one(name, reports)

    command.__doc__ = description
    app.command(name)(command)


for _name, _cls in catalog.DRILLS.items():
    _register(_name, _cls.description)


@app.command("all")
def run_all(reports: Reports = None) -> None:  # type: ignore[assignment]
    """Run every drill in sequence and print a summary table against the goals."""
    lab = load_lab()
    results = [runner.run(catalog.get(name), lab, reports or _reports_default()) for name in catalog.DRILLS]
    _print_summary(results)
    broken = [r["drill"] for r in results if not r["invariants_ok"]]
    if broken:
        raise RoadieError(f"invariants broken in: {', '.join(broken)}")


def _print_summary(results: list[dict]) -> None:
    table = Table(title="drill results")
    for column in (
        "drill",
        "target",
        "detected (s)",
        "writes back (s)",
        "reads back (s)",
        "write gap (s)",
        "acked lost",
        "max primaries",
        "goals",
    ):
        table.add_column(column)
    for r in results:
        detection = [v for v in r["detection_s"].values() if v is not None]
        goals = "met" if r["passed"] else "MISSED"
        table.add_row(
            r["drill"],
            ",".join(r["target"]),
            f"{min(detection):.2f}" if detection else "-",
            _fmt(r["measured"]["writes back after fault"]),
            _fmt(r["measured"]["longest read outage"]),
            _fmt(r["measured"]["write gap"]),
            str(r["measured"]["acknowledged writes lost"]),
            str(next(c["value"] for c in r["checks"] if c["name"] == "most writable primaries at once")),
            goals,
        )
    console.print(table)
    for r in results:
        console.print(f"report: {r['report']}/report.md")


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
