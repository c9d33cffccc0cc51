"""`roadie inventory`: Ansible inventories from Pulumi stack outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from roadie.errors import RoadieError
from roadie.inventory import (
    InventoryError,
    build_inventory,
    check_inventory,
    load_stack_output,
    write_inventory,
)

DEFAULT_OUTPUT = Path("ansible/inventories/aws")
INVENTORY_FILE = "hosts.yml"

app = typer.Typer(help="Ansible inventories generated from Pulumi stack outputs.", no_args_is_help=True)


@app.callback()
def inventory() -> None:
    """Ansible inventories generated from Pulumi stack outputs."""
    # A callback keeps `inventory` a command group even while it has a single command.


@app.command("from-stack")
def from_stack(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="`pulumi stack output --json` of a stack; prod first, then dr, for one inventory of both.",
            metavar="FILE...",
        ),
    ],
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="Inventory file, or a directory to write hosts.yml into."),
    ] = DEFAULT_OUTPUT,
) -> None:
    """Write an Ansible inventory with the lab's groups for the hosts of the given stacks."""
    stacks = []
    for path in files:
        try:
            stacks.append(load_stack_output(path))
        except (OSError, InventoryError) as err:
            raise RoadieError(f"{path}: {err}") from err
    try:
        inventory = build_inventory(stacks)
    except InventoryError as err:
        raise RoadieError(str(err)) from err
    problems = check_inventory(inventory)
    if problems:
        raise RoadieError(f"the stack outputs give an inconsistent inventory: {'; '.join(problems)}")
    target = output if output.suffix in (".yml", ".yaml") else output / INVENTORY_FILE
    write_inventory(inventory, target)
    count = sum(len(stack.hosts) for stack in stacks)
    typer.echo(f"wrote {target} ({count} hosts, environment {stacks[0].environment})")
