"""Re-running an operation while a dependency fails over: jittered, capped backoff up to a
deadline. What counts as a transient failure, and whether a re-run is safe, is the caller's
to say (`app.common.db.transient_failure` for PostgreSQL).

The schedule is exponential with "equal jitter": re-run n waits between half and all of
min(cap, initial * 2**n). Half is fixed so that re-runs never hammer a database that is
still down; the other half is random so that the app nodes do not all arrive at a new
primary in the same instant.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
F = TypeVar("F")
# A connection wait of 0 makes psycopg's pool refuse even a connection it has ready.
MIN_CONNECTION_WAIT = 0.05


@dataclass(frozen=True)
class Backoff:
    initial: float
    cap: float

    def ceiling(self, rerun: int) -> float:
        """The longest wait before re-run `rerun` (0 for the first re-run)."""
        return min(self.cap, self.initial * 2.0 ** min(rerun, 62))

    def delay(self, rerun: int, draw: float) -> float:
        """The wait before re-run `rerun`, for a uniform `draw` in [0, 1)."""
        ceiling = self.ceiling(rerun)
        return ceiling / 2 + ceiling / 2 * draw


@dataclass(frozen=True)
class RetryPolicy:
    """`deadline`: seconds after the first attempt past which no re-run starts (0: never
    re-run); `connection_wait`: the longest one attempt may wait for a connection."""

    deadline: float
    backoff: Backoff
    connection_wait: float


async def retry_until_deadline(
    attempt: Callable[[float], Awaitable[T]],
    policy: RetryPolicy,
    transient: Callable[[BaseException], F | None],
    on_rerun: Callable[[F], None],
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    draw: Callable[[], float] = random.random,
) -> T:
    """Run `attempt(connection_wait)` until it returns, fails for good, or the deadline passes.

    A failure `transient` classifies as None is raised at once. A transient one is re-run
    after the backoff unless that re-run would start past the deadline: then the failure is
    raised as it is, so the caller answers as it would without retries. Each re-run is
    reported to `on_rerun` with its failure's classification before it starts. A re-run's
    connection wait never reaches past the deadline."""
    started = clock()
    reruns = 0
    wait = policy.connection_wait
    while True:
        try:
            return await attempt(wait)
        except Exception as exc:
            failure = transient(exc)
            if failure is None:
                raise
            delay = policy.backoff.delay(reruns, draw())
            if clock() - started + delay >= policy.deadline:
                raise
            on_rerun(failure)
            await sleep(delay)
            reruns += 1
            wait = max(MIN_CONNECTION_WAIT, min(policy.connection_wait, policy.deadline - (clock() - started)))
