"""The roadie command line: one Typer group per area, errors as one clear line."""

import sys

import typer

from roadie.bench import search as search_bench
from roadie.cli import alerts, backup, bench, chaos, dr, drill, inventory, lab, runbook
from roadie.console import err_console
from roadie.errors import RoadieError

app = typer.Typer(
    name="roadie",
    help="Provision, operate and rescue the roadie platform (lab by default).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(lab.app, name="lab")
app.add_typer(inventory.app, name="inventory")
app.add_typer(drill.app, name="drill")
app.add_typer(backup.app, name="backup")
app.add_typer(dr.app, name="dr")
app.add_typer(runbook.app, name="runbook")
app.add_typer(alerts.app, name="alerts")
app.add_typer(bench.app, name="bench")
app.add_typer(chaos.app, name="chaos")
bench.app.command("search")(search_bench.command)


def main() -> None:
    """Console entry point: RoadieError becomes one line and a non-zero exit."""
    debug = "--debug" in sys.argv
    if debug:
        sys.argv.remove("--debug")
    try:
        app()
    except RoadieError as exc:
        if debug:
            raise
        err_console.print(f"[bad]error:[/] {exc.message}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("[bad]interrupted[/]")
        sys.exit(130)
