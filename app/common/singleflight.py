"""Coalescing of concurrent cache misses: one loader per key, the other callers await it.

Without it, a crowd arriving at a cold cache (after a deploy, a Redis failover or a TTL
expiry of a hot key) sends the same query to the database once per request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any


class SingleFlight:
    def __init__(self) -> None:
        self._running: dict[str, asyncio.Future[Any]] = {}

    async def do(self, key: str, load: Callable[[], Awaitable[Any]]) -> Any:
        if (running := self._running.get(key)) is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._running[key] = future
        try:
            result = await load()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waited
            raise
        else:
            future.set_result(result)
            return result
        finally:
            del self._running[key]
