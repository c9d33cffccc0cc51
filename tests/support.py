"""Helpers for tests against the lab."""

from collections.abc import Callable
from typing import Any

from roadie.errors import RoadieError
from roadie.lab.inventory import LabHost
from roadie.polling import poll_until
from roadie.services import registry


def manifest(host: LabHost, kind: str) -> dict[str, Any]:
    """The host's registry entry of `kind`, as the role wrote it (roadie.services.registry reads it)."""
    entry = registry.find(host, kind)
    if entry is None:
        raise AssertionError(f"{host.name} has no {kind} service installed")
    return entry.as_json()


def wait_until(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    """Poll a readiness condition until it holds (returns a truthy value) or time runs out."""
    try:
        return poll_until(check, timeout, what, interval).value
    except RoadieError as exc:
        raise AssertionError(str(exc)) from None
