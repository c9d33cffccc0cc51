"""`roadie lab ...`: the local lab of simulated hosts."""

import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from roadie.console import console
from roadie.errors import RoadieError
from roadie.lab import evidence, hosts, leaks, lifecycle, status
from roadie.lab.inventory import Lab, load_lab
from roadie.lab.playbook import summarize
from roadie.lab.secrets import load_secrets
from roadie.services import registry

app = typer.Typer(
    help="The local lab: every host a booted Debian machine on a loopback address, configured over SSH.",
    no_args_is_help=True,
)

MAX_LEAKS_SHOWN = 50

Profile = Annotated[str, typer.Option("--profile", "-p", help="core: data tier; full: everything.")]


@app.command()
def up(profile: Profile = "core") -> None:
    """Provision the lab's hosts and converge them with the production Ansible roles."""
    run, timings = lifecycle.up(profile)
    console.print(f"[ok]lab is up[/] ({profile}): {summarize([run])}; {timings.summary()}")
    console.print(f"[muted]Ansible log: {run.log_file}[/]")


@app.command()
def down(
    purge: Annotated[bool, typer.Option(help="Also delete the lab's data and secrets.")] = False,
) -> None:
    """Shut every lab host down (data is kept unless --purge)."""
    started = time.monotonic()
    stopped = lifecycle.down(purge)
    what = "stopped and purged" if purge else "stopped"
    console.print(f"[ok]lab {what}[/]: {len(stopped)} hosts in {time.monotonic() - started:.1f}s")


@app.command("collect-logs")
def collect_logs(
    target: Annotated[Path, typer.Argument(help="Directory to copy the logs into.")],
) -> None:
    """Copy the lab's logs (Ansible runs, boot consoles, every host's journal) into a directory."""
    written = evidence.collect(load_lab("full"), target)
    console.print(f"[ok]{len(written)} log files[/] in {target}")


@app.command("scan-secrets")
def scan_secrets() -> None:
    """Search every log the lab keeps (Ansible runs, boot consoles, journals) for its secrets."""
    lab = load_lab("full")
    secrets = load_secrets(lab.secrets_file)
    found = leaks.scan(lab_logs_with_progress(lab), secrets)
    for leak in found[:MAX_LEAKS_SHOWN]:
        console.print(f"[bad]{leak.log}:{leak.line}: secret {leak.secret}[/]", highlight=False)
    if found:
        names = sorted({leak.secret for leak in found})
        raise RoadieError(f"{len(found)} log lines hold a secret ({', '.join(names)}); the values are not shown")
    console.print(f"[ok]no secret in the lab's logs[/] ({len(secrets)} secrets searched)")


def lab_logs_with_progress(lab: Lab) -> Iterator[tuple[str, Iterable[str]]]:
    for name, lines in leaks.lab_logs(lab):
        console.print(f"searching {name}", style="muted", highlight=False)
        yield name, lines


@app.command("status")
def show_status() -> None:
    """Every host and service with its state and current role."""
    lab = load_lab()
    rows = status.collect(lab)
    if not rows:
        raise RoadieError("the lab has not been created: run 'roadie lab up'")
    table = Table(title=f"roadie lab ({lab.profile} profile)", title_justify="left")
    for column in ("host", "AZ", "address", "service", "state", "role"):
        table.add_column(column)
    for row in rows:
        style = "ok" if row.state == "RUNNING" or row.role.startswith("standby") else "bad"
        table.add_row(row.host, row.location, row.address, row.service, f"[{style}]{row.state}[/]", row.role)
    console.print(table)
    console.print(status.standins_table())


@app.command()
def logs(
    host: Annotated[str, typer.Argument(help="Lab host, e.g. db-1.")],
    service: Annotated[str | None, typer.Argument(help="Service (default: list them).")] = None,
    lines: Annotated[int, typer.Option("--lines", "-n", help="Lines to show.")] = 50,
) -> None:
    """Show the last lines of a lab host's service log (its journal)."""
    lab_host = load_lab().host(host)
    known = [s.name for s in registry.services(lab_host)]
    if service is None:
        if not known:
            raise RoadieError(f"{host} runs no service yet")
        console.print(f"services on {host}: {', '.join(known)}")
        return
    if service not in known:
        raise RoadieError(f"no service '{service}' on {host} (services: {', '.join(known) or 'none'})")
    for line in hosts.journal(lab_host, service, lines=lines, output="short-iso"):
        console.print(line, markup=False, soft_wrap=True)
