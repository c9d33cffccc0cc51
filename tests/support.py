"""Helpers for tests against the lab."""

from collections.abc import Callable
from typing import Any

from roadie.errors import RoadieError
from roadie.lab import hosts
from roadie.lab.inventory import LabHost
from roadie.polling import poll_until


def manifest(host: LabHost, kind: str) -> dict[str, Any]:
    for entry in hosts.manifests(host):
        if entry.get("kind") == kind:
            return entry
    raise AssertionError(f"{host.name} has no {kind} service installed")


def wait_until(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    """Poll a readiness condition until it holds (returns a truthy value) or time runs out."""
    try:
        return poll_until(check, timeout, what, interval).value
    except RoadieError as exc:
        raise AssertionError(str(exc)) from None
