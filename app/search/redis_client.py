"""Connecting to Redis: directly by URL, or to the current master through Sentinel.

Through Sentinel the client asks the sentinels for the master of ``service`` and reconnects to
the new master after a failover; every search component takes the resulting client.

With ``tls_root_cert`` (the internal CA's certificate) the Sentinels and the master, or the
``rediss://`` url, are reached over TLS only, each certificate verified against that CA and the
address dialled, as the app's own client does (``app.common.redis.tls_kwargs``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff

from app.common.redis import tls_kwargs


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
    # The CA file the Sentinels' and the master's certificates must come from (TLS, verified
    # by address), e.g. /etc/roadie-app/internal-ca.crt; None: plain TCP.
    tls_root_cert: str | None = None

    def __post_init__(self) -> None:
        if not self.url and not self.sentinels:
            raise ValueError("Redis settings need a url or a list of sentinels")
        if self.tls_root_cert is not None and not self.tls_root_cert:
            raise ValueError("tls_root_cert is empty: name the internal CA's certificate, or omit it for plain TCP")
        if self.url and self.tls_root_cert:
            url = urlsplit(self.url)
            if url.scheme != "rediss":
                raise ValueError(f"tls_root_cert needs a rediss:// url, not {url.scheme}://: TLS is never dropped")
            # The url's query wins over keyword arguments in redis-py: it must not loosen the check.
            loosened = sorted({name for name, _ in parse_qsl(url.query) if name.startswith("ssl")})
            if loosened:
                raise ValueError(f"the url sets {loosened}: with tls_root_cert the certificate is always verified")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RedisSettings:
        known = set(cls.__dataclass_fields__)
        unknown = set(config) - known
        if unknown:
            raise ValueError(f"unknown Redis settings {sorted(unknown)}; known: {sorted(known)}")
        values = dict(config)
        values["sentinels"] = tuple((str(host), int(port)) for host, port in config.get("sentinels", ()))
        if values.get("tls_root_cert") is not None:
            values["tls_root_cert"] = str(values["tls_root_cert"])
        return cls(**values)


def connect(settings: RedisSettings) -> Redis:
    """A client for the Redis master (no I/O happens until the first command)."""
    tls = tls_kwargs(settings.tls_root_cert) if settings.tls_root_cert else {}
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
                **tls,
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
            **tls,
        )
    assert settings.url is not None
    # rediss:// picks the TLS connection class; the connection takes every other keyword, and
    # has no `ssl` one.
    verify = {name: value for name, value in tls.items() if name != "ssl"}
    return Redis.from_url(
        settings.url,
        username=settings.username,
        password=settings.password,
        socket_timeout=settings.socket_timeout,
        **verify,
    )
