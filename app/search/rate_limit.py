"""Per-supplier rate limits shared by every search node: never more than N calls per window.

A limit is a sliding-window log in one Redis sorted set per supplier: each admitted call is a
member scored by Redis' own clock (``TIME``, so node clocks do not matter). One Lua script
drops entries older than the window, counts the rest and admits the call only if the count stays
within the limit, atomically, so two nodes can never both take the last slot. A fixed window
would allow 2N calls around its edge and a token bucket allows a burst on top of the rate; the
log allows at most N in *any* window of that length, which is how suppliers count.

``safety`` widens the window (default 1 s) to cover the time between admission here and arrival
at the supplier: a call admitted at the very end of a window must not land in the next one.

After a Sentinel failover the newest entries may be missing on the promoted replica (replication
is asynchronous). With ``wait_replicas`` > 0 an admission also waits (``WAIT``, in the same round
trip) until that many replicas hold it, and is refused if they do not: the entry still counts, so
the limit can be undershot, never overshot.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.search.durations import parse_duration

if TYPE_CHECKING:
    from redis.asyncio import Redis

SLIDING_LOG_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local used = redis.call('ZCARD', KEYS[1])
if used + cost <= limit then
  for i = 1, cost do
    redis.call('ZADD', KEYS[1], now, ARGV[3] .. ':' .. i)
  end
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1000)
  return {1, 0, used + cost}
end
local nth = used + cost - limit - 1
local oldest = redis.call('ZRANGE', KEYS[1], nth, nth, 'WITHSCORES')
return {0, tonumber(oldest[2]) + window - now, used}
"""


@dataclass(frozen=True, slots=True)
class SupplierLimit:
    """At most ``calls`` calls in any ``per`` seconds (enforced over ``per + safety``)."""

    calls: int
    per: float
    safety: float = 1.0

    def __post_init__(self) -> None:
        if self.calls < 1 or self.per <= 0 or self.safety < 0:
            raise ValueError(f"a rate limit needs calls >= 1, per > 0, safety >= 0 (got {self})")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SupplierLimit:
        """From ``{calls: 10, per: 1m, safety: 1s}``."""
        return cls(
            calls=int(config["calls"]),
            per=parse_duration(config["per"]),
            safety=parse_duration(config.get("safety", 1.0)),
        )

    @property
    def window_micros(self) -> int:
        return round((self.per + self.safety) * 1_000_000)


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_after: float  # seconds until a slot frees (0 when allowed)
    used: int  # calls in the window, this one included when allowed


class RateLimited(RuntimeError):
    """No slot within the time the caller was willing to wait."""


class RedisRateLimiter:
    """Admission control for supplier calls. Suppliers without a configured limit are not limited."""

    def __init__(
        self,
        redis: Redis,
        limits: Mapping[str, SupplierLimit],
        *,
        prefix: str = "ratelimit:v1",
        wait_replicas: int = 0,
        wait_timeout_ms: int = 100,
    ) -> None:
        self.limits = dict(limits)
        self._redis = redis
        self._prefix = prefix
        self._wait_replicas = wait_replicas
        self._wait_timeout_ms = wait_timeout_ms
        self._script = redis.register_script(SLIDING_LOG_SCRIPT)
        self._node = uuid.uuid4().hex[:12]

    def key(self, supplier: str) -> str:
        return f"{self._prefix}:{supplier}"

    async def try_acquire(self, supplier: str, cost: int = 1) -> Decision:
        """Take ``cost`` slots now if the window has room; never waits."""
        limit = self.limits.get(supplier)
        if limit is None:
            return Decision(True, 0.0, 0)
        if not 1 <= cost <= limit.calls:
            raise ValueError(f"{supplier}: cost must be 1..{limit.calls} (got {cost})")
        member = f"{self._node}:{time.monotonic_ns()}"
        args = [limit.calls, limit.window_micros, member, cost]
        if self._wait_replicas <= 0:
            reply = await self._script(keys=[self.key(supplier)], args=args)
        else:
            pipe = self._redis.pipeline(transaction=False)
            await self._script(keys=[self.key(supplier)], args=args, client=pipe)
            pipe.execute_command("WAIT", self._wait_replicas, self._wait_timeout_ms)
            reply, acked = await pipe.execute()
            if int(reply[0]) == 1 and int(acked) < self._wait_replicas:
                return Decision(False, self._wait_timeout_ms / 1000, int(reply[2]))
        allowed, retry_micros, used = (int(value) for value in reply)
        return Decision(bool(allowed), max(0.0, retry_micros / 1_000_000), used)

    async def acquire(self, supplier: str, *, timeout: float, cost: int = 1) -> None:
        """Wait up to ``timeout`` seconds for ``cost`` slots; raise ``RateLimited`` if none came."""
        deadline = time.monotonic() + timeout
        while True:
            decision = await self.try_acquire(supplier, cost)
            if decision.allowed:
                return
            left = deadline - time.monotonic()
            if decision.retry_after > left:
                raise RateLimited(
                    f"{supplier}: rate limit {self.limits[supplier].calls}/{self.limits[supplier].per:g}s "
                    f"reached; next slot in {decision.retry_after:.2f}s"
                )
            await asyncio.sleep(decision.retry_after + 0.001)

    async def used(self, supplier: str) -> int:
        """Calls admitted in the current window (for metrics; approximate: uses this node's clock)."""
        limit = self.limits.get(supplier)
        if limit is None:
            return 0
        now = time.time() * 1_000_000
        return int(await self._redis.zcount(self.key(supplier), now - limit.window_micros, "+inf"))
