"""`roadie alerts`: the notifications Alertmanager sent to the lab's local recorder."""

from typing import Annotated

import typer
from rich.table import Table

from roadie.alerts.notifications import read_notifications, recorder_file
from roadie.console import console
from roadie.lab.inventory import load_lab

app = typer.Typer(help="Alert notifications the lab recorded (production sends them to chat).")


@app.callback(invoke_without_command=True)
def list_alerts(
    alert: Annotated[str | None, typer.Option("--alert", "-a", help="Only this alert name.")] = None,
    last: Annotated[int, typer.Option("--last", "-n", help="Show the last N notifications.")] = 50,
) -> None:
    """List every notification the lab's Alertmanager sent, oldest first."""
    file = recorder_file(load_lab())
    notes = [n for n in read_notifications(file) if alert is None or n.alertname == alert]
    if not notes:
        console.print(f"no notifications recorded yet ({file})")
        return
    table = Table(title=f"Alert notifications ({file})", title_justify="left")
    for column in ("received", "status", "severity", "alert", "where", "summary"):
        table.add_column(column)
    for note in notes[-last:]:
        where = ", ".join(f"{k}={note.labels[k]}" for k in ("host", "az", "supplier", "queue") if k in note.labels)
        style = "bad" if note.status == "firing" else "ok"
        table.add_row(
            note.received_at[:19], f"[{style}]{note.status}[/]", note.severity, note.alertname, where, note.summary
        )
    console.print(table)
