"""`roadie dr ...`: the DR region, its DNS failover records and the region failover drills."""

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from roadie.cli.drill import run_one
from roadie.console import console
from roadie.dr import cluster, fence
from roadie.dr.drills import DrFailback, DrFailover
from roadie.dr.run import new_run
from roadie.lab.inventory import load_lab

app = typer.Typer(
    help="Disaster recovery: the standby region, DNS failover records, region drills.", no_args_is_help=True
)

Reports = Annotated[Path | None, typer.Option("--reports", help="Where reports go.")]


@app.command("status")
def status() -> None:
    """Which region is active: DNS records, fences, and each region's Patroni cluster."""
    run = new_run("status", load_lab())
    table = Table(title="DR status", title_justify="left")
    for column in ("region", "DNS", "fenced", "Patroni leader role", "writable members"):
        table.add_column(column)
    active = run.dns.active_region()
    for number, region in run.topology.regions.items():
        via = region.members[0].host if fence.is_fenced(number) and region.members else None
        table.add_row(
            str(number),
            "PRIMARY" if active == number else "secondary",
            "yes" if fence.is_fenced(number) else "no",
            str(cluster.leader_role(region, via) or "none"),
            ", ".join(cluster.writable_members(region, via)) or "none",
        )
    console.print(table)
    for name, roles in sorted(run.dns.records().items()):
        console.print(f"{name}.{run.dns.zone} PRIMARY {roles.get('PRIMARY')}  SECONDARY {roles.get('SECONDARY')}")


def drill_dr_failover(reports: Reports = None) -> None:
    """Lose every host of region 1 under load; fence, promote region 2, flip DNS; RTO and RPO
    (the same drill as `roadie drill dr-failover`)."""
    with console.status("dr-failover: probe, region loss, fence, promote, DNS, split-brain guard"):
        run_one(DrFailover(), reports)


def drill_dr_failback(reports: Reports = None) -> None:
    """Rebuild region 1 as the standby of region 2, then switch back to it under load (the same
    drill as `roadie drill dr-failback`)."""
    with console.status("dr-failback: rebuild region 1 as standby, switch back"):
        run_one(DrFailback(), reports)


app.command("failover-drill")(drill_dr_failover)
app.command("failback-drill")(drill_dr_failback)
