"""`roadie lab ...`: the local lab of simulated hosts."""

import time
from typing import Annotated

import typer
from rich.table import Table

from roadie.console import console
from roadie.errors import RoadieError
from roadie.lab import hosts, lifecycle, status
from roadie.lab.inventory import load_lab
from roadie.lab.playbook import summarize

app = typer.Typer(help="The local lab: every host a loopback address, a directory and a cgroup.", no_args_is_help=True)

Profile = Annotated[str, typer.Option("--profile", "-p", help="core: data tier; full: everything.")]


@app.command()
def up(profile: Profile = "core") -> None:
    """Create (or converge) the lab with the production Ansible roles."""
    lab = load_lab()
    run = lifecycle.up(lab, profile)
    console.print(f"[ok]lab is up[/] ({profile}): {summarize([run])}")
    console.print(f"[muted]Ansible log: {run.log_file}[/]")


@app.command()
def down(
    purge: Annotated[bool, typer.Option(help="Also delete the lab's data and secrets.")] = False,
) -> None:
    """Shut every lab host down (data is kept unless --purge)."""
    started = time.monotonic()
    stopped = lifecycle.down(load_lab(), purge)
    what = "stopped and purged" if purge else "stopped"
    console.print(f"[ok]lab {what}[/]: {len(stopped)} hosts in {time.monotonic() - started:.1f}s")


@app.command("status")
def show_status() -> None:
    """Every host and service with its state and current role."""
    lab = load_lab()
    rows = status.collect(lab)
    if not rows:
        raise RoadieError("the lab has not been created: run 'roadie lab up'")
    table = Table(title=f"roadie lab ({lifecycle.current_profile(lab)} profile)", title_justify="left")
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
    """Show the last lines of a lab host's service log."""
    lab_host = load_lab().host(host)
    log_dir = lab_host.root / "log"
    if service is None:
        names = sorted(p.stem for p in log_dir.glob("*.log")) if log_dir.is_dir() else []
        if not names:
            raise RoadieError(f"{host} has no logs yet")
        console.print(f"logs on {host}: {', '.join(names)}")
        return
    log_file = log_dir / f"{service}.log"
    if not log_file.exists():
        known = ", ".join(m["name"] for m in hosts.manifests(lab_host)) or "none"
        raise RoadieError(f"no log for service '{service}' on {host} (services: {known})")
    for line in log_file.read_text(errors="replace").splitlines()[-lines:]:
        console.print(line, markup=False, soft_wrap=True)
