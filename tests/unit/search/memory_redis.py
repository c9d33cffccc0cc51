"""An in-process stand-in for the few Redis commands the negative cache, the rate limiter and the
look-to-book counters use (no server needed).

Strings and bitmaps share one dict as in Redis; bit 0 is the most significant bit of byte 0.
Expiry times are recorded, not enforced: the tests move the clock, not Redis' own.

``register_script`` knows two scripts, the rate limiter's sliding log and the breaker's
compare-and-set, and runs a Python model of each against ``clock`` (Redis' ``TIME``): what the
unit tests check is the logic; the Lua itself runs against real Redis in
tests/lab/search/test_search_redis.py and tests/unit/search/test_search_redis_outage.py.

``down = True`` is an outage: every round trip raises redis-py's ``ConnectionError``, as a client
of a stopped server does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError

from app.search.breaker_redis import CAS_SCRIPT
from app.search.rate_limit import SLIDING_LOG_SCRIPT


class MemoryRedis:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.data: dict[str, bytes | bytearray] = {}
        self.expire_at: dict[str, int] = {}
        self.zsets: dict[str, dict[str, int]] = {}
        self.hashes: dict[str, dict[bytes, int]] = {}
        self.clock = clock
        self.round_trips = 0
        self.down = False

    def trip(self) -> None:
        """One round trip (or ``ConnectionError`` during an outage)."""
        if self.down:
            raise RedisConnectionError("Error 111 connecting to redis. Connection refused.")
        self.round_trips += 1

    def register_script(self, script: str) -> SlidingLogModel | CasModel:
        if script == CAS_SCRIPT:
            return CasModel(self)
        assert script == SLIDING_LOG_SCRIPT, "only the rate limiter's and the breaker's scripts have a model"
        return SlidingLogModel(self)

    async def ping(self) -> bool:
        self.trip()
        return True

    async def delete(self, key: str) -> int:
        self.trip()
        return int(self.data.pop(key, None) is not None)

    async def zcard(self, key: str) -> int:
        self.trip()
        return len(self.zsets.get(key, {}))

    def pipeline(self, transaction: bool = False) -> MemoryPipeline:
        return MemoryPipeline(self)

    async def mget(self, keys: list[str]) -> list[bytes | None]:
        self.trip()
        return [self._get(key) for key in keys]

    async def get(self, key: str) -> bytes | None:
        self.trip()
        return self._get(key)

    async def set(self, key: str, value: Any, nx: bool = False, ex: int | None = None) -> bool | None:
        self.trip()
        if nx and key in self.data:
            return None
        self.data[key] = str(value).encode()
        return True

    async def incr(self, key: str) -> int:
        self.trip()
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

    def hincrby(self, key: str, name: str, amount: int) -> None:
        self._queued.append(("HINCRBY", (key, name, amount)))

    def hgetall(self, key: str) -> None:
        self._queued.append(("HGETALL", (key,)))

    def expire(self, key: str, seconds: int) -> None:
        self._queued.append(("EXPIRE", (key, seconds)))

    def expireat(self, key: str, when: int) -> None:
        self._queued.append(("EXPIREAT", (key, when)))

    def execute_command(self, name: str, *args: Any) -> None:
        self._queued.append((name, args))

    def get(self, key: str) -> None:
        self._queued.append(("GET", (key,)))

    async def execute(self) -> list[Any]:
        self._redis.trip()
        return [self._run(name, args) for name, args in self._queued]

    def _run(self, name: str, args: tuple[Any, ...]) -> Any:
        redis = self._redis
        if name == "INCRBY":
            return redis._incrby(args[0], int(args[1]))
        if name == "GET":
            return redis._get(args[0])
        if name in ("HINCRBY", "HGETALL", "EXPIRE"):
            return self._run_hash(name, args)
        if name == "EXPIREAT":
            redis.expire_at[args[0]] = int(args[1])
            return int(args[0] in redis.data)
        if name in ("BITFIELD", "BITFIELD_RO"):
            return redis._bitfield(args[0], args[1:], write=name == "BITFIELD")
        raise NotImplementedError(name)

    def _run_hash(self, name: str, args: tuple[Any, ...]) -> Any:
        hashes = self._redis.hashes
        if name == "HINCRBY":
            fields = hashes.setdefault(args[0], {})
            fields[args[1].encode()] = fields.get(args[1].encode(), 0) + int(args[2])
            return fields[args[1].encode()]
        if name == "HGETALL":
            return {field: str(value).encode() for field, value in hashes.get(args[0], {}).items()}
        return int(args[0] in hashes)  # EXPIRE: recorded nowhere, as the class docstring says


class SlidingLogModel:
    """``rate_limit.SLIDING_LOG_SCRIPT`` in Python: KEYS[1] the log, ARGV limit, window (µs),
    member, cost; returns {allowed, retry after (µs), used}."""

    def __init__(self, redis: MemoryRedis) -> None:
        self._redis = redis

    async def __call__(self, keys: list[str], args: list[Any], client: Any = None) -> list[int]:
        assert client is None, "the model runs outside pipelines (wait_replicas = 0)"
        redis = self._redis
        redis.trip()
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


class CasModel:
    """``breaker_redis.CAS_SCRIPT`` in Python: set KEYS[1] to ARGV[2] if it holds ARGV[1]."""

    def __init__(self, redis: MemoryRedis) -> None:
        self._redis = redis

    async def __call__(self, keys: list[str], args: list[Any]) -> int:
        redis = self._redis
        redis.trip()
        expected = args[0] if isinstance(args[0], bytes) else str(args[0]).encode()
        if (redis._get(keys[0]) or b"") != expected:
            return 0
        redis.data[keys[0]] = args[1].encode() if isinstance(args[1], str) else args[1]
        return 1
