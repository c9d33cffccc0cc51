"""`roadie drill ...`: failover drills against the lab, with measured reports."""

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from roadie.console import console
from roadie.drills import catalog, runner
from roadie.drills.results import NOT_MEASURED
from roadie.drills.topology import missing
from roadie.errors import RoadieError
from roadie.lab.inventory import load_lab
from roadie.lab.plan import load_plan
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
    """Run every drill in sequence, print a summary table against the goals and save it as
    drill-all-<time>.md beside the reports. A drill the lab's topology cannot run is skipped
    with the reason; a drill that cannot complete is reported and the next one runs. Exits 0
    when every drill that ran completed and kept its invariants."""
    lab = load_lab()
    directory = reports or _reports_default()
    results, failed, skipped = [], {}, {}
    for name in catalog.DRILLS:
        reason = missing(catalog.DRILLS[name].needs, lab, load_plan())
        if reason is not None:
            console.print(f"drill {name} skipped: {reason}")
            skipped[name] = reason
            continue
        try:
            results.append(runner.run(catalog.get(name), lab, directory))
        except RoadieError as exc:
            console.print(f"[red]drill {name} did not complete: {exc}[/]")
            failed[name] = str(exc)
    _print_summary(results)
    summary = directory / f"drill-all-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}.md"
    summary.write_text(summary_markdown(results, failed, skipped))
    console.print(f"summary: {summary}")
    broken = [r["drill"] for r in results if not r["invariants_ok"]]
    if broken or failed:
        raise RoadieError(
            "; ".join(
                part
                for part in (
                    f"invariants broken in: {', '.join(broken)}" if broken else "",
                    f"did not complete: {', '.join(failed)}" if failed else "",
                )
                if part
            )
        )


SUMMARY_COLUMNS = (
    "drill",
    "target",
    "detected (s)",
    "writes back (s)",
    "write gap (s)",
    "read outage (s)",
    "client errors",
    "failed keyed bookings",
    "longest booking (s)",
    "acked lost",
    "sold twice",
    "max primaries",
    "ok/fail/info",
    "checker",
    "alerts fired",
    "goals",
)


def summary_row(r: dict) -> list[str]:
    """One drill's line of the summary: measured times, the invariants, the checker's verdict
    and the goals' verdict. A figure the drill did not measure reads "not measured"."""
    detection = [v for v in r["detection_s"].values() if v is not None]
    measured = r["measured"]
    operations = r["checker"]["operations"]
    writes_back = measured["writes back after fault"]
    return [
        r["drill"],
        ",".join(r["target"]),
        f"{min(detection):.2f}" if detection else "-",
        "not recovered" if r["recovered_s"] is None else _fmt(writes_back),
        _fmt(measured["write gap"]),
        _fmt(measured["longest read outage"]),
        _count(measured["app client errors"]),
        _count(measured["failed keyed bookings"]),
        _fmt(measured["longest booking latency"]),
        str(measured["acknowledged writes lost"]),
        str(measured.get("seats sold twice", "-")),
        str(next(c["value"] for c in r["checks"] if c["name"] == "most writable primaries at once")),
        f"{operations['ok']}/{operations['fail']}/{operations['info']}",
        _checker(r["checker"]),
        _alerts_fired(r.get("alerts")),
        "met" if r["passed"] else "MISSED",
    ]


def _checker(checker: dict) -> str:
    """ "valid", or the kinds of anomaly the checker found."""
    kinds = sorted({a["kind"] for v in checker["verdicts"] for a in v["anomalies"]})
    return "valid" if checker["valid"] else "; ".join(kinds)


def summary_markdown(results: list[dict], failed: dict[str, str], skipped: dict[str, str]) -> str:
    lines = [
        "| " + " | ".join(SUMMARY_COLUMNS) + " |",
        "|" + "---|" * len(SUMMARY_COLUMNS),
        *("| " + " | ".join(summary_row(r)) + " |" for r in results),
        "",
    ]
    lines += [f"- {name}: skipped: {why}" for name, why in skipped.items()]
    lines += [f"- {name}: did not complete: {why}" for name, why in failed.items()]
    lines += [f"- {r['drill']}: {r['report']}/report.md" for r in results]
    return "\n".join(lines) + "\n"


def _alerts_fired(alerts: dict | None) -> str:
    if not alerts or not alerts["observed"]:
        return "not observed"
    fired = sorted({a["alert"] for a in alerts["alerts"] if a["firing_s"] is not None and not a.get("before_drill")})
    return ", ".join(fired) or "none"


def _print_summary(results: list[dict]) -> None:
    table = Table(title="drill results")
    for column in SUMMARY_COLUMNS:
        table.add_column(column)
    for r in results:
        table.add_row(*summary_row(r))
    console.print(table)
    for r in results:
        console.print(f"report: {r['report']}/report.md")


def _fmt(value: float | None) -> str:
    return NOT_MEASURED if value is None else f"{value:.2f}"


def _count(value: int | None) -> str:
    return NOT_MEASURED if value is None else str(value)
