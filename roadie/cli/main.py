"""The roadie command line: one Typer group per area, errors as one clear line."""

import sys

import typer
from rich.markup import escape

from roadie.bench import search as search_bench
from roadie.cli import alerts, backup, bench, chaos, dr, drill, inventory, lab, provoke, runbook, tls
from roadie.console import err_console
from roadie.errors import RoadieError
from roadie.lab.inventory import lab_tls_files
from roadie.services import internal_tls

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
app.add_typer(provoke.app, name="provoke")
app.add_typer(bench.app, name="bench")
app.add_typer(chaos.app, name="chaos")
app.add_typer(tls.app, name="tls")
# Drills that live with their subsystem are run as drills too.
drill.app.command("restore")(backup.drill_restore)
drill.app.command("dr-failover")(dr.drill_dr_failover)
drill.app.command("dr-failback")(dr.drill_dr_failback)
bench.app.command("search")(search_bench.command)


def main() -> None:
    """Console entry point: RoadieError becomes one line and a non-zero exit."""
    debug = "--debug" in sys.argv
    if debug:
        sys.argv.remove("--debug")
    # The lab's CA by default; an operator's ROADIE_TLS_DIR (or PGSSLROOTCERT) wins.
    internal_tls.trust(lab_tls_files().directory)
    try:
        app()
    except RoadieError as exc:
        if debug:
            raise
        # The message is text, not markup: "fatal: [db-1]" would lose its host name as a rich tag.
        err_console.print(f"[bad]error:[/] {escape(exc.message)}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("[bad]interrupted[/]")
        sys.exit(130)
