"""A dead Redis master or Sentinel must cost a request little: the app's clients retry once
(the reconnect asks Sentinel for the master again) and never retry a Sentinel (the next one is
the retry), instead of redis-py's default of 10 retries with backoff (4 s per dead endpoint)."""

import asyncio

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from app.common.redis import connect
from app.common.settings import RedisSettings, ServerTls

# Nothing listens on port 1 of these loopback addresses: every connection is refused.
DEAD = [{"host": "127.0.0.9", "port": 1}, {"host": "127.0.0.8", "port": 1}]


def _client():
    return connect(
        RedisSettings(
            sentinels=DEAD,
            master_name="roadie",
            sentinel_password="p",
            user="u",
            password="p",
            tls=ServerTls(root_cert="/etc/roadie-app/internal-ca.crt"),
        )
    )


def test_master_client_retries_once_and_sentinels_never() -> None:
    client = _client()
    assert client.get_retry()._retries == 1
    sentinels = client.connection_pool.sentinel_manager.sentinels
    assert [s.get_retry()._retries for s in sentinels] == [0, 0]


def test_every_sentinel_dead_fails_with_a_redis_error_without_waiting() -> None:
    async def call() -> None:
        await asyncio.wait_for(_client().get("key"), timeout=1.0)

    # The default client would still be backing off after a second (wait_for raises TimeoutError).
    with pytest.raises(RedisConnectionError):
        asyncio.run(call())
