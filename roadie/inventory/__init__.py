"""Ansible inventories: generated from Pulumi stack outputs and checked against the lab's shape."""

from roadie.inventory.build import build_inventory, write_inventory
from roadie.inventory.check import check_inventory
from roadie.inventory.stack_output import (
    Endpoints,
    HostRecord,
    InventoryError,
    StackOutput,
    load_stack_output,
    parse_stack_output,
)

__all__ = [
    "Endpoints",
    "HostRecord",
    "InventoryError",
    "StackOutput",
    "build_inventory",
    "check_inventory",
    "load_stack_output",
    "parse_stack_output",
    "write_inventory",
]
