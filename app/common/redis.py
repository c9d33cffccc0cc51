"""Redis through Sentinel: the client follows the master across failovers.

The app user may only run data commands (no FLUSHALL, CONFIG or KEYS); Sentinel itself needs
its own password.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.sentinel import Sentinel

from app.common.settings import RedisSettings


def connect(settings: RedisSettings) -> Redis:
    """A client for the current master (no I/O until the first command)."""
    sentinel = Sentinel(
        [(s.host, s.port) for s in settings.sentinels],
        sentinel_kwargs={"password": settings.sentinel_password, "socket_timeout": settings.socket_timeout},
        username=settings.user,
        password=settings.password,
        socket_timeout=settings.socket_timeout,
        socket_connect_timeout=settings.socket_timeout,
    )
    return sentinel.master_for(settings.master_name, decode_responses=True)
