"""Helpers for tests against the lab."""

import time
from collections.abc import Callable
from typing import Any

from roadie.lab import hosts
from roadie.lab.inventory import LabHost


def manifest(host: LabHost, kind: str) -> dict[str, Any]:
    for entry in hosts.manifests(host):
        if entry.get("kind") == kind:
            return entry
    raise AssertionError(f"{host.name} has no {kind} service installed")


def wait_until(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    """Poll a readiness condition until it holds (returns a truthy value) or time runs out."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last result: {last!r}")
