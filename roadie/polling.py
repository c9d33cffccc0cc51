"""Waiting for a condition: the one polling loop the drills, the DR steps and the tests share."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from roadie.errors import RoadieError


@dataclass(frozen=True)
class Polled:
    """What the condition returned once it held, when (epoch seconds) and after how long."""

    value: Any
    at: float
    seconds: float


def poll_until(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Polled:
    """Call check() until it returns something truthy. An exception counts as "not yet" (a
    service that is still starting refuses connections); the last answer is in the error."""
    started = time.monotonic()
    last: Any = None
    while time.monotonic() - started < timeout:
        try:
            last = check()
        except Exception as exc:
            last = exc
        else:
            if last:
                return Polled(last, time.time(), time.monotonic() - started)
        time.sleep(interval)
    raise RoadieError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")
