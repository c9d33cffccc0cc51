"""An in-process stand-in for the few Redis commands the negative cache and the rate limiter use
(no server needed).

Strings and bitmaps share one dict as in Redis; bit 0 is the most significant bit of byte 0.
Expiry times are recorded, not enforced: the tests move the clock, not Redis' own.

``register_script`` knows one script, the rate limiter's sliding log, and runs a Python model of
it line by line against ``clock`` (Redis' ``TIME``): what the unit tests check of the limiter is
the logic; the Lua itself runs against real Redis in tests/lab/search/test_search_redis.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from app.search.rate_limit import SLIDING_LOG_SCRIPT


class MemoryRedis:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.data: dict[str, bytes | bytearray] = {}
        self.expire_at: dict[str, int] = {}
        self.zsets: dict[str, dict[str, int]] = {}
        self.clock = clock
        self.round_trips = 0

    def register_script(self, script: str) -> SlidingLogModel:
        assert script == SLIDING_LOG_SCRIPT, "only the rate limiter's script has a model"
        return SlidingLogModel(self)

    def pipeline(self, transaction: bool = False) -> MemoryPipeline:
        return MemoryPipeline(self)

    async def mget(self, keys: list[str]) -> list[bytes | None]:
        self.round_trips += 1
        return [self._get(key) for key in keys]

    async def get(self, key: str) -> bytes | None:
        self.round_trips += 1
        return self._get(key)

    async def set(self, key: str, value: Any, nx: bool = False, ex: int | None = None) -> bool | None:
        self.round_trips += 1
        if nx and key in self.data:
            return None
        self.data[key] = str(value).encode()
        return True

    async def incr(self, key: str) -> int:
        self.round_trips += 1
        return self._incrby(key, 1)

    def _get(self, key: str) -> bytes | None:
        value = self.data.get(key)
        return None if value is None else bytes(value)

    def _incrby(self, key: str, amount: int) -> int:
        value = int(self.data.get(key, b"0")) + amount
        self.data[key] = str(value).encode()
        return value

    def _bitfield(self, key: str, args: tuple[Any, ...], write: bool) -> list[int]:
        bits = self.data.setdefault(key, bytearray()) if write else self.data.get(key, bytearray())
        replies = []
        step = 4 if write else 3
        for i in range(0, len(args), step):
            pos = int(args[i + 2])
            byte, mask = pos >> 3, 0x80 >> (pos & 7)
            old = int(byte < len(bits) and bool(bits[byte] & mask))
            if write:
                assert isinstance(bits, bytearray)
                if len(bits) <= byte:
                    bits.extend(bytes(byte + 1 - len(bits)))
                bits[byte] |= mask
            replies.append(old)
        return replies


class MemoryPipeline:
    def __init__(self, redis: MemoryRedis) -> None:
        self._redis = redis
        self._queued: list[tuple[str, tuple[Any, ...]]] = []

    def incrby(self, key: str, amount: int) -> None:
        self._queued.append(("INCRBY", (key, amount)))

    def expireat(self, key: str, when: int) -> None:
        self._queued.append(("EXPIREAT", (key, when)))

    def execute_command(self, name: str, *args: Any) -> None:
        self._queued.append((name, args))

    async def execute(self) -> list[Any]:
        self._redis.round_trips += 1
        return [self._run(name, args) for name, args in self._queued]

    def _run(self, name: str, args: tuple[Any, ...]) -> Any:
        redis = self._redis
        if name == "INCRBY":
            return redis._incrby(args[0], int(args[1]))
        if name == "EXPIREAT":
            redis.expire_at[args[0]] = int(args[1])
            return int(args[0] in redis.data)
        if name in ("BITFIELD", "BITFIELD_RO"):
            return redis._bitfield(args[0], args[1:], write=name == "BITFIELD")
        raise NotImplementedError(name)


class SlidingLogModel:
    """``rate_limit.SLIDING_LOG_SCRIPT`` in Python: KEYS[1] the log, ARGV limit, window (µs),
    member, cost; returns {allowed, retry after (µs), used}."""

    def __init__(self, redis: MemoryRedis) -> None:
        self._redis = redis

    async def __call__(self, keys: list[str], args: list[Any], client: Any = None) -> list[int]:
        assert client is None, "the model runs outside pipelines (wait_replicas = 0)"
        redis = self._redis
        redis.round_trips += 1
        now = int(redis.clock() * 1_000_000)
        limit, window, member, cost = int(args[0]), int(args[1]), str(args[2]), int(args[3])
        log = redis.zsets.setdefault(keys[0], {})
        for stale in [m for m, score in log.items() if score <= now - window]:  # ZREMRANGEBYSCORE -inf
            del log[stale]
        used = len(log)
        if used + cost <= limit:
            for i in range(1, cost + 1):
                log[f"{member}:{i}"] = now
            return [1, 0, used + cost]
        nth = used + cost - limit - 1
        oldest = sorted((score, m) for m, score in log.items())[nth][0]  # ZRANGE by score, then member
        return [0, oldest + window - now, used]
