"""`roadie drill ...`: every drill (in-region faults, restore, region failover and failback)
against the lab, judged against the inventory's objectives, with measured reports."""

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from roadie.console import console
from roadie.drills import discovery, results
from roadie.drills.contract import NOT_MEASURED, Drill, DrillResult
from roadie.drills.objectives import lab_objectives
from roadie.drills.topology import missing
from roadie.errors import RoadieError
from roadie.lab.inventory import load_lab
from roadie.lab.plan import load_plan
from roadie.paths import project_root

app = typer.Typer(
    help="Drills: inject a fault under load, measure detection, RTO and RPO, judge them against the objectives.",
    no_args_is_help=True,
)

Reports = Annotated[Path | None, typer.Option("--reports", help="Where reports go.")]


def _reports_default() -> Path:
    return project_root() / "reports"


@app.command("list")
def list_drills() -> None:
    """The drills, what each needs of the lab, and the lab's objectives for each."""
    objectives = lab_objectives(discovery.drills())
    table = Table(title="drills")
    for column in ("drill", "fault", "needs", "objectives (lab inventory)"):
        table.add_column(column)
    for name, cls in discovery.drills().items():
        needs = ", ".join(f"{n.hosts} {n.group}" for n in cls.needs)
        goals = ", ".join(f"{g.measurement.name} <= {g.limit:g} {g.measurement.unit}" for g in objectives[name])
        table.add_row(name, cls.description, needs, goals or "none")
    console.print(table)


def run_one(drill: Drill, reports: Path | None) -> DrillResult:
    """Run one drill against the lab's objectives (all validated before it starts), print its
    summary, and fail unless it PASSED."""
    goals = lab_objectives(discovery.drills())[drill.name]
    result = drill.run(load_lab(), goals=goals, reports=reports or _reports_default())
    _print_summary([result])
    if not result.passed:
        raise RoadieError(f"drill {drill.name} FAILED: see {result.report}/report.md")
    return result


def _register(cls: type[Drill]) -> None:
    """One command per drill, so `roadie drill db-primary-loss` reads as what it does."""

    def command(reports: Reports = None) -> None:
        run_one(cls(), reports)

    command.__doc__ = cls.description
    app.command(cls.name)(command)


for _cls in discovery.drills().values():
    _register(_cls)


@app.command("all")
def run_all(reports: Reports = None) -> None:
    """Run every drill in sequence, print a summary table against the objectives and save it
    as drill-all-<time>.md beside the reports. A drill the lab's topology cannot run is skipped
    with the reason; a drill that cannot complete is reported and the next one runs. Exits 0
    when every drill that ran PASSED (its invariants held and its objectives were met)."""
    lab, plan, drills = load_lab(), load_plan(), discovery.drills()
    objectives = lab_objectives(drills)  # a bad objective stops everything before any drill starts
    directory = reports or _reports_default()
    done, failed, skipped = [], {}, {}
    for name, cls in drills.items():
        reason = missing(cls.needs, lab, plan)
        if reason is not None:
            console.print(f"drill {name} skipped: {reason}")
            skipped[name] = reason
            continue
        try:
            done.append(cls().run(lab, directory, objectives[name]))
        except RoadieError as exc:
            console.print(f"[red]drill {name} did not complete: {exc}[/]")
            failed[name] = str(exc)
    _print_summary(done)
    summary = directory / f"drill-all-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}.md"
    summary.write_text(summary_markdown(done, failed, skipped))
    console.print(f"summary: {summary}")
    not_passed = [r.drill for r in done if not r.passed]
    problems = [
        f"FAILED: {', '.join(not_passed)}" if not_passed else "",
        f"did not complete: {', '.join(failed)}" if failed else "",
    ]
    if not_passed or failed:
        raise RoadieError("; ".join(p for p in problems if p))


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
    "objectives (measured / objective)",
    "verdict",
)


def summary_row(r: DrillResult) -> list[str]:
    """One drill's line of the summary: measured times, the invariants, the checker's verdict,
    each objective beside its measured value, and PASSED or FAILED. A figure the drill did not
    measure reads "not measured" (the region and restore drills have no in-region probes)."""
    details, measured = r.details, r.measured
    detection = [v for v in details.get("detection_s", {}).values() if v is not None]
    checker = details.get("checker")
    recovered = "recovered_s" not in details or details["recovered_s"] is not None
    return [
        r.drill,
        ",".join(r.target),
        f"{min(detection):.2f}" if detection else "-",
        _fmt(measured.get("writes back after fault")) if recovered else "not recovered",
        _fmt(measured.get("write gap")),
        _fmt(measured.get("longest read outage")),
        _count(measured.get("app client errors")),
        _count(measured.get("failed keyed bookings")),
        _fmt(measured.get("longest booking latency")),
        _count(measured.get("acknowledged writes lost")),
        _count(measured.get("seats sold twice")),
        _primaries(r),
        _operations(checker),
        _checker(checker),
        _alerts_fired(details.get("alerts")),
        objectives_cell(r),
        "PASSED" if r.passed else "FAILED",
    ]


def objectives_cell(r: DrillResult) -> str:
    """Each objective as "measurement measured / objective", a missed one marked MISSED."""
    if not r.objectives:
        return "none set"
    return "; ".join(f"{c.name} {_shown(c.value)} / {c.goal}{'' if c.met else ' MISSED'}" for c in r.objectives)


def _primaries(r: DrillResult) -> str:
    names = {c.name for c in r.checks}
    return str(r.check(results.MOST_PRIMARIES).value) if results.MOST_PRIMARIES in names else NOT_MEASURED


def _operations(checker: dict | None) -> str:
    if checker is None:
        return NOT_MEASURED
    operations = checker["operations"]
    return f"{operations['ok']}/{operations['fail']}/{operations['info']}"


def _checker(checker: dict | None) -> str:
    """ "valid", or the kinds of anomaly the checker found."""
    if checker is None:
        return "no checker"
    kinds = sorted({a["kind"] for v in checker["verdicts"] for a in v["anomalies"]})
    return "valid" if checker["valid"] else "; ".join(kinds)


def summary_markdown(done: list[DrillResult], failed: dict[str, str], skipped: dict[str, str]) -> str:
    lines = [
        "| " + " | ".join(SUMMARY_COLUMNS) + " |",
        "|" + "---|" * len(SUMMARY_COLUMNS),
        *("| " + " | ".join(summary_row(r)) + " |" for r in done),
        "",
    ]
    lines += [f"- {name}: skipped: {why}" for name, why in skipped.items()]
    lines += [f"- {name}: did not complete: {why}" for name, why in failed.items()]
    lines += [f"- {r.drill}: {r.report}/report.md" for r in done]
    return "\n".join(lines) + "\n"


def _alerts_fired(alerts: dict | None) -> str:
    if not alerts or not alerts["observed"]:
        return "not observed"
    fired = sorted({a["alert"] for a in alerts["alerts"] if a["firing_s"] is not None and not a.get("before_drill")})
    return ", ".join(fired) or "none"


def _print_summary(done: list[DrillResult]) -> None:
    table = Table(title="drill results")
    for column in SUMMARY_COLUMNS:
        table.add_column(column)
    for r in done:
        table.add_row(*summary_row(r))
    console.print(table)
    for r in done:
        console.print(f"report: {r.report}/report.md")


def _shown(value: object) -> str:
    if value is None:
        return NOT_MEASURED
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _fmt(value: float | None) -> str:
    return NOT_MEASURED if value is None else f"{value:.2f}"


def _count(value: int | float | None) -> str:
    return NOT_MEASURED if value is None else str(value)
