"""Connecting to Redis: directly by URL, or to the current master through Sentinel.

Through Sentinel the client asks the sentinels for the master of ``service`` and reconnects to
the new master after a failover; every search component takes the resulting client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff


@dataclass(frozen=True, slots=True)
class RedisSettings:
    url: str | None = None  # e.g. redis://127.0.0.1:6379/0; used when no sentinels are given
    sentinels: tuple[tuple[str, int], ...] = ()  # e.g. ((127.1.1.21, 26379), ...)
    service: str = "mymaster"
    db: int = 0
    username: str | None = None  # Redis ACL user (None: the "default" user)
    password: str | None = None
    sentinel_password: str | None = None
    socket_timeout: float = 0.5

    def __post_init__(self) -> None:
        if not self.url and not self.sentinels:
            raise ValueError("Redis settings need a url or a list of sentinels")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RedisSettings:
        known = set(cls.__dataclass_fields__)
        unknown = set(config) - known
        if unknown:
            raise ValueError(f"unknown Redis settings {sorted(unknown)}; known: {sorted(known)}")
        values = dict(config)
        values["sentinels"] = tuple((str(host), int(port)) for host, port in config.get("sentinels", ()))
        return cls(**values)


def connect(settings: RedisSettings) -> Redis:
    """A client for the Redis master (no I/O happens until the first command)."""
    if settings.sentinels:
        sentinel = Sentinel(
            list(settings.sentinels),
            socket_timeout=settings.socket_timeout,
            # No retries against a Sentinel (redis-py's default costs 4 s per dead one): the
            # next Sentinel is the retry.
            sentinel_kwargs={
                "password": settings.sentinel_password,
                "socket_timeout": settings.socket_timeout,
                "retry": Retry(NoBackoff(), 0),
            },
        )
        return sentinel.master_for(
            settings.service,
            db=settings.db,
            username=settings.username,
            password=settings.password,
            socket_timeout=settings.socket_timeout,
            # One immediate retry (the reconnect asks Sentinel for the master again), not
            # redis-py's default backoff of seconds: a search must not hang on a dead master.
            retry=Retry(NoBackoff(), 1),
        )
    assert settings.url is not None
    return Redis.from_url(
        settings.url, username=settings.username, password=settings.password, socket_timeout=settings.socket_timeout
    )
