"""Coalescing concurrent searches into supplier batch calls.

Per batch key (supplier + stay + occupancy) the coalescer keeps a short buffer. The first item
for a key opens it; it is sent as one call to ``fetch_batch(key, items)`` when ``max_wait``
seconds have passed or ``max_batch`` distinct items are in it, whichever comes first. Both may
depend on the key (``window(key)``: a supplier's own merge window and batch size). A request
for an item that is already buffered or already in flight for the same key does not ask again:
it waits for the same answer (single flight).

Contract of ``fetch_batch``: it returns a mapping with an answer for each item it was given;
an item missing from the mapping fails with ``MissingFromBatch``; an exception fails every item
of that call. A waiter that is cancelled does not cancel the shared call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
I = TypeVar("I", bound=Hashable)  # noqa: E741 - the conventional name for "item"
R = TypeVar("R")

FetchBatch = Callable[[K, tuple[I, ...]], Awaitable[Mapping[I, R]]]


@dataclass(frozen=True, slots=True)
class Window:
    """How long a buffer collects (seconds) and how many items it sends at most."""

    max_wait: float
    max_batch: int

    def __post_init__(self) -> None:
        if self.max_wait < 0 or self.max_batch < 1:
            raise ValueError(f"need max_wait >= 0 and max_batch >= 1 (got {self.max_wait}, {self.max_batch})")


class MissingFromBatch(LookupError):
    """The supplier call answered, but not for this item."""


@dataclass(slots=True)
class CoalescerStats:
    requests: int = 0  # calls to get()
    shared: int = 0  # requests that joined an item already buffered or in flight
    batches: int = 0  # calls to fetch_batch
    items: int = 0  # distinct items sent in those calls
    full_flushes: int = 0  # batches sent because max_batch was reached


@dataclass(slots=True)
class _Buffer(Generic[I, R]):
    futures: dict[I, asyncio.Future[R]]
    timer: asyncio.TimerHandle | None = None


class Coalescer(Generic[K, I, R]):
    def __init__(
        self,
        fetch_batch: FetchBatch[K, I, R],
        *,
        max_wait: float,
        max_batch: int,
        window: Callable[[K], Window] | None = None,
    ) -> None:
        default = Window(max_wait, max_batch)
        self._fetch_batch = fetch_batch
        self.max_wait = max_wait
        self.max_batch = max_batch
        self._window: Callable[[K], Window] = window or (lambda _key: default)
        self.stats = CoalescerStats()
        self._buffers: dict[K, _Buffer[I, R]] = {}
        self._in_flight: dict[tuple[K, I], asyncio.Future[R]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def get(self, key: K, item: I) -> R:
        """The answer for ``item`` under ``key``, from a batch call shared with concurrent requests."""
        self.stats.requests += 1
        future = self._in_flight.get((key, item))
        if future is not None:
            self.stats.shared += 1
            return await asyncio.shield(future)
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        future.add_done_callback(_consume_exception)
        self._in_flight[(key, item)] = future
        buffer = self._buffers.get(key)
        window = self._window(key)
        if buffer is None:
            buffer = self._buffers[key] = _Buffer(futures={})
            buffer.timer = loop.call_later(window.max_wait, self._flush, key)
        buffer.futures[item] = future
        if len(buffer.futures) >= window.max_batch:
            self.stats.full_flushes += 1
            self._flush(key)
        return await asyncio.shield(future)

    def pending(self) -> int:
        """Items buffered or in flight."""
        return len(self._in_flight)

    async def drain(self) -> None:
        """Send every open buffer now and wait until no call is in flight (for shutdown and tests)."""
        for key in list(self._buffers):
            self._flush(key)
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _flush(self, key: K) -> None:
        buffer = self._buffers.pop(key, None)
        if buffer is None:
            return
        if buffer.timer is not None:
            buffer.timer.cancel()
        task = asyncio.get_running_loop().create_task(self._call(key, buffer.futures))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _call(self, key: K, futures: dict[I, asyncio.Future[R]]) -> None:
        items = tuple(futures)
        self.stats.batches += 1
        self.stats.items += len(items)
        try:
            answers = await self._fetch_batch(key, items)
        except Exception as exc:  # every waiter of this call gets the same failure
            for future in futures.values():
                if not future.done():
                    future.set_exception(exc)
        else:
            for item, future in futures.items():
                if future.done():
                    continue
                if item in answers:
                    future.set_result(answers[item])
                else:
                    future.set_exception(MissingFromBatch(f"{key}: the batch answer has no {item!r}"))
        finally:
            for item in items:
                self._in_flight.pop((key, item), None)


def _consume_exception(future: asyncio.Future[object]) -> None:
    # Mark a failure as retrieved even if every waiter was cancelled meanwhile (no log noise).
    if not future.cancelled():
        future.exception()
