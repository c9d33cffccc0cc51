"""`roadie tls`: the environment's internal CA and its hosts' certificates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from roadie import tls
from roadie.errors import RoadieError
from roadie.lab.inventory import load_lab
from roadie.lab.playbook import raise_for_failure, run_playbook

app = typer.Typer(help="The environment's internal CA and its hosts' certificates.", no_args_is_help=True)


@app.command("issue")
def issue(
    inventory: Annotated[Path, typer.Option("--inventory", "-i", help="The inventory (hosts.yml) to issue for.")],
    directory: Annotated[
        Path, typer.Option("--dir", "-d", help="The CA's directory: created with the CA, kept outside git (0700).")
    ],
) -> None:
    """Create the CA once, then a certificate for every host of the inventory that lacks a current one."""
    files = tls.TlsFiles(directory)
    issued = tls.issue(files, _inventory(inventory))
    which = f" ({', '.join(issued)})" if issued else ""
    typer.echo(f"{files.ca_cert}: {len(issued)} host certificate(s) issued{which}")


@app.command("ca")
def ca(
    directory: Annotated[
        Path, typer.Option("--dir", "-d", help="The CA's directory: created with the CA, kept outside git (0700).")
    ],
    environment: Annotated[
        str, typer.Option("--environment", "-e", help="Named in the CA's subject: the inventory's roadie_environment.")
    ] = "prod",
) -> None:
    """Create the CA only (an existing one is kept).

    On AWS the stack config needs its certificate before the first `pulumi up`, when there is
    no inventory to issue from yet."""
    files = tls.TlsFiles(directory)
    existed = files.ca_cert.exists()
    cert = tls.ensure_ca(files, environment)
    state = "kept" if existed else "created"
    typer.echo(f"{files.ca_cert}: {state}, valid until {cert.not_valid_after_utc:%Y-%m-%d}")
    typer.echo(f'next: pulumi config set roadie:internalCaCertificate -- "$(cat {files.ca_cert})"')


@app.command("rotate")
def rotate(
    host: Annotated[str, typer.Argument(help="The host (inventory name) whose key and certificate are replaced.")],
    inventory: Annotated[
        Path | None, typer.Option("--inventory", "-i", help="The inventory (default: the lab's).")
    ] = None,
    directory: Annotated[
        Path | None, typer.Option("--dir", "-d", help="The CA's directory (default: the lab's; needed with -i).")
    ] = None,
) -> None:
    """Replace a host's key and certificate, then converge that host (site.yml --limit HOST):
    each service there reloads its TLS files without a restart (PostgreSQL, pgBackRest)."""
    if (inventory is None) != (directory is None):
        raise RoadieError("give both --inventory and --dir (production), or neither (the lab)")
    if inventory is None or directory is None:
        lab = load_lab()
        inventory, files = lab.inventory_dir / "hosts.yml", lab.tls
        log_dir = lab.root / "logs"
    else:
        files, log_dir = tls.TlsFiles(directory), directory / "logs"
    serial = tls.rotate(files, _inventory(inventory), host)
    typer.echo(f"{host}: new key and certificate {serial}; converging {host}")
    run = run_playbook("site.yml", log_dir, limit=host, inventory=inventory.parent, title=f"Converging {host}")
    raise_for_failure(run, f"Converging {host}")
    typer.echo(f"{host} serves certificate {serial} ({run.changed} changed, {run.seconds:.0f}s; log: {run.log_file})")


def _inventory(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise RoadieError(f"{path}: {err}") from err
    if not isinstance(data, dict) or "all" not in data:
        raise RoadieError(f"{path} is not a YAML inventory with an 'all' group")
    return data
