"""Redis through Sentinel: the client follows the master across failovers.

The app user may only run data commands (no FLUSHALL, CONFIG or KEYS); Sentinel itself needs
its own password. Both the Sentinels and the master are reached over TLS, their certificates
verified against the internal CA and the address dialled (`tls_kwargs`); never in plain text
unless the settings turn TLS off by name (`redis.tls.enabled: false`).
"""

from __future__ import annotations

import os
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff

from app.common.settings import RedisSettings, ServerTls


def tls_kwargs(root_cert: str | os.PathLike[str]) -> dict[str, Any]:
    """redis-py's connection arguments for TLS verified against the CA file `root_cert`.

    `ssl=True` picks the TLS connection class: `SSLConnection` for a `Redis` client (each
    Sentinel's, from `sentinel_kwargs`), `SentinelManagedSSLConnection` for `master_for`'s pool,
    which pops it; the `ssl_*` arguments reach that class (`RedisSSLContext`). The server's
    certificate is required and must name the host dialled: an IP SAN for an address.
    """
    return {
        "ssl": True,
        "ssl_ca_certs": os.fspath(root_cert),
        "ssl_cert_reqs": "required",
        "ssl_check_hostname": True,
    }


def _tls(tls: ServerTls) -> dict[str, Any]:
    if not tls.enabled:
        return {}
    assert tls.root_cert is not None  # ServerTls requires it when enabled
    return tls_kwargs(tls.root_cert)


def connect(settings: RedisSettings) -> Redis:
    """A client for the current master (no I/O until the first command)."""
    tls = _tls(settings.tls)
    sentinel = Sentinel(
        [(s.host, s.port) for s in settings.sentinels],
        # No retries against a Sentinel: redis-py's default (10, with backoff) makes one dead
        # Sentinel cost every master lookup 4 s; the next Sentinel is the retry.
        sentinel_kwargs={
            "password": settings.sentinel_password,
            "socket_timeout": settings.socket_timeout,
            "retry": Retry(NoBackoff(), 0),
            **tls,
        },
        username=settings.user,
        password=settings.password,
        socket_timeout=settings.socket_timeout,
        socket_connect_timeout=settings.socket_timeout,
        **tls,
    )
    # One immediate retry: a reconnect asks the Sentinels for the master again, so after a
    # failover the retry reaches the new master; while none is known yet the call fails fast
    # and the caller falls back (the database for reads, a dropped cache entry for writes).
    return sentinel.master_for(settings.master_name, decode_responses=True, retry=Retry(NoBackoff(), 1))
