"""Redis through Sentinel: the client follows the master across failovers.

The app user may only run data commands (no FLUSHALL, CONFIG or KEYS); Sentinel itself needs
its own password.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff

from app.common.settings import RedisSettings


def connect(settings: RedisSettings) -> Redis:
    """A client for the current master (no I/O until the first command)."""
    sentinel = Sentinel(
        [(s.host, s.port) for s in settings.sentinels],
        # No retries against a Sentinel: redis-py's default (10, with backoff) makes one dead
        # Sentinel cost every master lookup 4 s; the next Sentinel is the retry.
        sentinel_kwargs={
            "password": settings.sentinel_password,
            "socket_timeout": settings.socket_timeout,
            "retry": Retry(NoBackoff(), 0),
        },
        username=settings.user,
        password=settings.password,
        socket_timeout=settings.socket_timeout,
        socket_connect_timeout=settings.socket_timeout,
    )
    # One immediate retry: a reconnect asks the Sentinels for the master again, so after a
    # failover the retry reaches the new master; while none is known yet the call fails fast
    # and the caller falls back (the database for reads, a dropped cache entry for writes).
    return sentinel.master_for(settings.master_name, decode_responses=True, retry=Retry(NoBackoff(), 1))
