"""`roadie backup ...`: pgBackRest backups of the Patroni cluster, and the restore drill."""

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from roadie.backup import pgbackrest, source
from roadie.backup.collect import collect
from roadie.backup.drill import RestoreDrill
from roadie.backup.status import BackupStatus, BackupSummary
from roadie.cli.drill import run_one
from roadie.console import console
from roadie.errors import RoadieError
from roadie.lab.inventory import load_lab
from roadie.lab.secrets import load_secrets

app = typer.Typer(help="Backups: pgBackRest WAL archiving, full/diff/incr backups, restores.", no_args_is_help=True)

BackupType = Annotated[str, typer.Option("--type", "-t", help="full, diff or incr (the first one is always full).")]
Repo = Annotated[int, typer.Option("--repo", help="1: backups (90 days); 2: the yearly archive.")]


@app.command("run")
def run(backup_type: BackupType = "incr", repo: Repo = 1) -> None:
    """Take a backup now, on the repository host (production: its cron schedules)."""
    repository = pgbackrest.repository(load_lab())
    with console.status(f"{backup_type} backup into repository {repo}"):
        done = pgbackrest.run_backup(repository, backup_type, repo)
    console.print(f"[ok]{done.type} backup {done.label}[/] into repository {done.repo} in {done.seconds:.1f}s")


@app.command("status")
def status(
    textfile: Annotated[
        Path | None, typer.Option("--textfile", help="Also write the status as Prometheus metrics to this file.")
    ] = None,
) -> None:
    """The last full and incremental backups, their size, and the WAL archive's continuity."""
    lab = load_lab()
    collection = collect(pgbackrest.repository(lab), source.primary(lab, load_secrets(lab.secrets_file)))
    state, archiver = collection.status, collection.archiver
    _print_status(state, archiver)
    if textfile is not None:
        tmp = textfile.with_suffix(".tmp")
        tmp.write_text(collection.metrics())
        tmp.replace(textfile)
    if state.last_full is None or not state.archive.continuous or archiver.failing:
        raise RoadieError("backups are not healthy: see above", exit_code=2)


def drill_restore(
    keep: Annotated[bool, typer.Option(help="Keep the scratch instance's files.")] = False,
    reports: Annotated[Path | None, typer.Option("--reports", help="Where reports go.")] = None,
) -> None:
    """Point-in-time restore into a scratch instance, compared with the source (`roadie drill
    restore`, with the option to keep the scratch files)."""
    with console.status("restore drill: markers, snapshot, restore, recovery, comparison"):
        run_one(RestoreDrill(keep=keep), reports)


app.command("restore-drill")(drill_restore)


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _row(table: Table, what: str, backup: BackupSummary | None) -> None:
    if backup is None:
        table.add_row(what, "[bad]none[/]", "", "", "", "")
        return
    age_h = (time.time() - backup.stopped) / 3600
    table.add_row(
        what,
        f"{backup.label} ({backup.type})",
        f"{_when(backup.stopped)} ({age_h:.1f} h ago)",
        f"{backup.seconds:.0f}s",
        f"{backup.size / 2**20:.1f} MiB",
        f"{backup.repo_size / 2**20:.1f} MiB",
    )


def _print_status(state: BackupStatus, archiver: source.ArchiverState) -> None:
    table = Table(title=f"stanza {state.stanza}: {state.status}", title_justify="left")
    for column in ("backup", "label", "finished", "took", "database size", "stored (compressed)"):
        table.add_column(column)
    _row(table, "last full", state.last_full)
    _row(table, "last diff/incr", state.last_incremental)
    _row(table, "yearly archive", state.last_archive)
    console.print(table)
    archive = state.archive
    style = "ok" if archive.continuous else "bad"
    gaps = ", ".join(f"{a}..{b}" for a, b in archive.gaps) or "none"
    console.print(
        f"WAL archive: [{style}]{'continuous' if archive.continuous else 'NOT continuous'}[/] "
        f"{archive.first} .. {archive.last} ({archive.segments} segments since the oldest full backup; gaps: {gaps})"
    )
    style = "bad" if archiver.failing else "ok"
    last = archiver.last_archived_time.isoformat(timespec="seconds") if archiver.last_archived_time else "never"
    console.print(
        f"archiver: [{style}]{'FAILING' if archiver.failing else 'ok'}[/], last archived {archiver.last_archived_wal}"
        f" at {last}, current WAL {archiver.current_wal}, failures {archiver.failed_count}"
    )
