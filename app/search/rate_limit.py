"""Per-supplier rate limits shared by every search node: never more than N calls per window.

A limit is a sliding-window log in one Redis sorted set per supplier: each admitted call is a
member scored by Redis' own clock (``TIME``, so node clocks do not matter). One Lua script
drops entries older than the window, counts the rest and admits the call only if the count stays
within the limit, atomically, so two nodes can never both take the last slot. A fixed window
would allow 2N calls around its edge and a token bucket allows a burst on top of the rate; the
log allows at most N in *any* window of that length, which is how suppliers count.

The window is widened by a safety margin to cover the spread of the time between admission here
and arrival at the supplier: a call admitted at the very end of a window must not land in the
next one. The margin is a share of the window (``safety_ratio``, 5 %), not a fixed second: a fixed
second enforced 100 calls per second as 100 per 2 s and so wasted half of a short contract. A
contract is usable at ``per / (per + margin)`` (95 %); ``safety`` sets the margin in seconds.

A call refused a slot is not dropped while its caller can still wait (``acquire``'s timeout): it
queues on this node, and the queue is served by priority (the batch carrying the most cache
misses first), then arrival. Only the head of a supplier's queue asks Redis, after the time the
script said the next slot frees, so waiters do not stampede Redis for the same slot.

With a ``health`` (``redis_fallback.RedisHealth``) and the node's place among the configured
``nodes``, a Redis outage does not stop the calls: the node admits its own share of each contract
from a local sliding log, first one window after the outage began, and hands its local calls over
to Redis when it answers again (``redis_fallback`` explains why that stays within the contract).

After a Sentinel failover the newest entries may be missing on the promoted replica (replication
is asynchronous). With ``wait_replicas`` > 0 an admission also waits (``WAIT``, in the same round
trip) until that many replicas hold it, and is refused if they do not: the entry still counts, so
the limit can be undershot, never overshot.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.search.durations import parse_duration
from app.search.redis_fallback import REDIS_DOWN, LocalLog, RedisHealth, local_share
from app.search.rendezvous import Node

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


DEFAULT_SAFETY_RATIO = 0.05
MAX_SAFETY_RATIO = 0.5
HAND_OVER_LIMIT = 2**31  # handing local calls over to Redis must never be refused


@dataclass(frozen=True, slots=True)
class SupplierLimit:
    """At most ``calls`` calls in any ``per`` seconds (enforced over ``per + margin``).

    ``margin`` is ``safety`` seconds if given, else ``safety_ratio`` of ``per``."""

    calls: int
    per: float
    safety: float | None = None
    safety_ratio: float = DEFAULT_SAFETY_RATIO

    def __post_init__(self) -> None:
        if self.calls < 1 or self.per <= 0 or (self.safety is not None and self.safety < 0):
            raise ValueError(f"a rate limit needs calls >= 1, per > 0, safety >= 0 (got {self})")
        if not 0 <= self.safety_ratio <= MAX_SAFETY_RATIO:
            raise ValueError(f"safety_ratio must be in 0..{MAX_SAFETY_RATIO} (got {self.safety_ratio})")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SupplierLimit:
        """From ``{calls: 10, per: 1m}``, optionally ``safety: 2s`` or ``safety_ratio: 0.1``."""
        safety = config.get("safety")
        return cls(
            calls=int(config["calls"]),
            per=parse_duration(config["per"]),
            safety=None if safety is None else parse_duration(safety),
            safety_ratio=float(config.get("safety_ratio", DEFAULT_SAFETY_RATIO)),
        )

    @property
    def margin(self) -> float:
        return self.per * self.safety_ratio if self.safety is None else self.safety

    @property
    def window(self) -> float:
        """Seconds of the enforced window (``per`` plus the margin)."""
        return self.per + self.margin

    @property
    def window_micros(self) -> int:
        return round(self.window * 1_000_000)


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_after: float  # seconds until a slot frees (0 when allowed)
    used: int  # calls in the window, this one included when allowed


class RateLimited(RuntimeError):
    """No slot within the time the caller was willing to wait."""


@dataclass(order=True, slots=True)
class _Waiter:
    rank: tuple[int, int]  # (-priority, arrival): the heap's smallest is served first
    turn: asyncio.Event = field(default_factory=asyncio.Event, compare=False)
    done: bool = field(default=False, compare=False)


class _Queue:
    """One supplier's waiting calls on this node, in the order they get slots."""

    def __init__(self) -> None:
        self._heap: list[_Waiter] = []

    def __bool__(self) -> bool:
        return bool(self._heap)

    def push(self, waiter: _Waiter) -> None:
        heapq.heappush(self._heap, waiter)
        self._wake_head()

    def remove(self, waiter: _Waiter) -> None:
        waiter.done = True
        while self._heap and self._heap[0].done:  # finished waiters deeper down leave as they surface
            heapq.heappop(self._heap)
        self._wake_head()

    def is_head(self, waiter: _Waiter) -> bool:
        return bool(self._heap) and self._heap[0] is waiter

    def _wake_head(self) -> None:
        if self._heap:
            self._heap[0].turn.set()


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
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        health: RedisHealth | None = None,
        node: str = "",
        nodes: Sequence[Node] = (),
    ) -> None:
        """Without ``health`` a Redis failure fails the call; with it (and this ``node``'s name
        among the configured ``nodes``) the node falls back to its share of each contract."""
        self.limits = dict(limits)
        self._health = health
        self.shares: dict[str, int] = {}
        if health is not None:
            self.shares = {name: local_share(limit.calls, name, node, nodes) for name, limit in self.limits.items()}
        self._local = {name: LocalLog(limit.per + limit.margin) for name, limit in self.limits.items()}
        self._unhanded = False  # local admissions made that Redis has not been told of
        self._clock = clock
        self._sleep = sleep
        self._queues: dict[str, _Queue] = {}
        self._arrivals = itertools.count()
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
        if self._health is None:
            return await self._shared(supplier, limit, cost)
        now = self._clock()
        if self._health.should_try():
            try:
                if self._unhanded:  # Redis may be back: hand this node's local calls over first
                    await self._hand_over(now)
                    self._unhanded = False
                    self._health.succeeded()
                recovering = self._health.recovered_at is not None and now - self._health.recovered_at < limit.window
                refused = self._local_refusal(supplier, cost, now) if recovering else None
                if refused is not None:
                    return refused
                decision = await self._shared(supplier, limit, cost)
            except REDIS_DOWN as exc:
                self._health.failed(exc)
            else:
                self._health.succeeded()
                if decision.allowed:
                    self._local[supplier].add(now, cost)
                return decision
        refused = self._local_refusal(supplier, cost, now, hold=True)
        if refused is not None:
            return refused
        self._local[supplier].add(now, cost)
        self._unhanded = True  # whoever finds Redis back first (a breaker, this limiter), these go to Redis
        return Decision(True, 0.0, self._local[supplier].used(now))

    def _local_refusal(self, supplier: str, cost: int, now: float, *, hold: bool = False) -> Decision | None:
        """Why this node's share of the contract has no room for ``cost`` calls now (None: it has).

        ``hold``: in local mode nothing is admitted until one window after the outage began."""
        assert self._health is not None
        log = self._local[supplier]
        used = log.used(now)
        if self.shares[supplier] < cost:  # this node has no share of a contract smaller than the cluster
            return Decision(False, self._health.probe_interval, used)
        since = self._health.local_since
        if hold and since is not None and now < since + log.window:
            return Decision(False, since + log.window - now, used)
        if used + cost > self.shares[supplier]:
            return Decision(False, log.retry_after(now), used)
        return None

    async def _hand_over(self, now: float) -> None:
        """Add this node's calls of the last window to the Redis logs (scored at Redis' now), and
        a ``PING``: Redis has answered when this returns, even with nothing left to hand over."""
        for supplier, limit in self.limits.items():
            used = self._local[supplier].used(now)
            if used:
                member = f"{self._node}:handover:{time.monotonic_ns()}"
                await self._script(keys=[self.key(supplier)], args=[HAND_OVER_LIMIT, limit.window_micros, member, used])
        await self._redis.ping()

    async def _shared(self, supplier: str, limit: SupplierLimit, cost: int) -> Decision:
        """The cluster-wide decision of the Redis sliding log."""
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

    async def acquire(self, supplier: str, *, timeout: float, cost: int = 1, priority: int = 0) -> None:
        """Wait up to ``timeout`` seconds for ``cost`` slots; raise ``RateLimited`` if none came.

        Waiting calls of a supplier get slots by ``priority`` (higher first), then arrival."""
        deadline = self._clock() + timeout
        queue = self._queues.setdefault(supplier, _Queue())
        decision = None
        if not queue:  # nobody waits: try at once, queue only if refused
            decision = await self.try_acquire(supplier, cost)
            if decision.allowed:
                return
        waiter = _Waiter((-priority, next(self._arrivals)))
        queue.push(waiter)
        try:
            while True:
                if not queue.is_head(waiter):
                    await self._wait_turn(supplier, waiter, deadline)
                    decision = None
                    continue
                if decision is None:
                    decision = await self.try_acquire(supplier, cost)
                    if decision.allowed:
                        return
                if self._clock() + decision.retry_after > deadline:
                    raise self._refused(supplier, decision.retry_after)
                await self._sleep(decision.retry_after + 0.001)
                decision = None
        finally:
            queue.remove(waiter)

    async def _wait_turn(self, supplier: str, waiter: _Waiter, deadline: float) -> None:
        waiter.turn.clear()
        left = deadline - self._clock()
        try:
            await asyncio.wait_for(waiter.turn.wait(), timeout=max(0.0, left))
        except TimeoutError:
            raise self._refused(supplier, left) from None

    def _refused(self, supplier: str, wait: float) -> RateLimited:
        limit = self.limits[supplier]
        return RateLimited(f"{supplier}: rate limit {limit.calls}/{limit.per:g}s reached; next slot in {wait:.2f}s")

    async def used(self, supplier: str) -> int:
        """Calls admitted in the current window (for metrics; approximate: uses this node's clock)."""
        limit = self.limits.get(supplier)
        if limit is None:
            return 0
        if self._health is not None and self._health.local:
            return self._local[supplier].used(self._clock())  # this node's only: the others are unknown
        now = time.time() * 1_000_000
        try:
            return int(await self._redis.zcount(self.key(supplier), now - limit.window_micros, "+inf"))
        except REDIS_DOWN as exc:
            if self._health is None:
                raise
            self._health.failed(exc)
            return self._local[supplier].used(self._clock())
