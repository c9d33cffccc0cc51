"""Hotel search without Redis: a conservative local mode for supplier calls, and the way back.

Rate limits and breaker state live in Redis so that every node shares them. A Redis outage must
not stop every supplier call, nor let the nodes overrun a contract, so each node degrades to:

- **Rate limits: its own share of each contract.** The contract's ``calls`` are split over the
  *configured* nodes (not the healthy ones: a node that looks down may still be calling), in the
  rendezvous order of the supplier's name, so the shares add up to the contract exactly
  (``calls // N``, one more for the first ``calls % N``; a node whose share is 0 does not call that
  supplier locally). Each node keeps its share in a local sliding log over the same window. The
  first local call waits one window after the outage began: calls the others were admitted in
  Redis just before it have left the window by then. So the cluster stays within the contract.
- **Breakers: a local breaker per supplier** (``breaker.CircuitBreaker``, same policy) fed with
  this node's own outcomes all along, so it has recent history when Redis goes; it starts from the
  last state read from Redis when that one was open or half-open.
- **Look-to-book**: the last counts read, plus this node's looks since (``LookToBookGuard``).
- The negative cache and the offer store are optimisations: their failures already mean "ask the
  supplier" and "not cached" (``service``, ``fetcher``).

``RedisHealth`` decides: after a failed Redis command the node is in local mode and asks Redis
again at most once per ``probe_interval`` (one call probes; the others go local without waiting
on a dead socket). When a probe answers, the node is back: its local admissions of the last
window are added to the Redis log first (scored at Redis' now, so they count a little longer than
they happened: the safe side), and for one more window it keeps its local share as well, while
the other nodes add theirs. Nodes that see Redis differently (a partition between one node and
Redis) can exceed a contract by that node's share; a node that cannot reach Redis at all is
degraded, not stopped.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from redis.exceptions import RedisError

from app.search.breaker import BreakerPolicy, BreakerSnapshot, BreakerState, CircuitBreaker, Phase
from app.search.breaker_redis import RedisBreaker
from app.search.breaker_window import CallOutcome
from app.search.rendezvous import Node, Rendezvous

log = logging.getLogger(__name__)

# What a Redis outage raises: redis-py's errors (connection, timeout, failover) and OS errors.
REDIS_DOWN: tuple[type[BaseException], ...] = (RedisError, OSError)
DEFAULT_PROBE_INTERVAL = 1.0


class RedisHealth:
    """This node's view of Redis: reachable (shared mode) or not (local mode since ``local_since``)."""

    def __init__(
        self, *, probe_interval: float = DEFAULT_PROBE_INTERVAL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if probe_interval <= 0:
            raise ValueError(f"probe_interval must be above 0 (got {probe_interval})")
        self.probe_interval = probe_interval
        self.clock = clock
        self.local_since: float | None = None
        self.recovered_at: float | None = None
        self.outages = 0
        self._next_probe = 0.0

    @property
    def local(self) -> bool:
        return self.local_since is not None

    def should_try(self) -> bool:
        """Ask Redis now? Always in shared mode; in local mode one caller per probe interval."""
        if self.local_since is None:
            return True
        now = self.clock()
        if now < self._next_probe:
            return False
        self._next_probe = now + self.probe_interval
        return True

    def failed(self, exc: BaseException) -> None:
        now = self.clock()
        self._next_probe = now + self.probe_interval
        if self.local_since is None:
            self.local_since = now
            self.outages += 1
            log.warning("search: Redis unreachable, supplier calls in local mode: %s", exc)

    def succeeded(self) -> bool:
        """Redis answered; True if that ends local mode."""
        if self.local_since is None:
            return False
        log.warning("search: Redis answers again after %.1fs, back to shared mode", self.clock() - self.local_since)
        self.local_since = None
        self.recovered_at = self.clock()
        return True

    def describe(self) -> dict[str, object]:
        now = self.clock()
        return {
            "mode": "local" if self.local else "shared",
            "local_for_seconds": None if self.local_since is None else round(now - self.local_since, 3),
            "outages": self.outages,
        }


def local_share(calls: int, supplier: str, node: str, nodes: Sequence[Node]) -> int:
    """This node's share of ``calls``: the contract split over ``nodes`` in the rendezvous order of
    the supplier (the shares of all nodes add up to ``calls``)."""
    ranking = [n.name for n in Rendezvous(nodes).rank(f"ratelimit:{supplier}")]
    if node not in ranking:
        raise ValueError(f"node {node!r} is not among the nodes {ranking}")
    position = ranking.index(node)
    return calls // len(ranking) + (1 if position < calls % len(ranking) else 0)


@dataclass(slots=True)
class LocalLog:
    """This node's admitted calls of one supplier (monotonic times), kept in both modes."""

    window: float
    times: deque[float] = field(default_factory=deque)

    def used(self, now: float) -> int:
        while self.times and self.times[0] <= now - self.window:
            self.times.popleft()
        return len(self.times)

    def add(self, now: float, cost: int) -> None:
        self.used(now)  # drop what left the window: the log never holds more than one window
        self.times.extend([now] * cost)

    def retry_after(self, now: float) -> float:
        return max(0.0, self.times[0] + self.window - now) if self.times else 0.0


class FallbackBreaker:
    """A supplier's breaker: the shared one in Redis, a local one while Redis is unreachable.

    Every outcome also feeds the local breaker, so it knows this node's recent history when
    Redis goes. Same interface as ``RedisBreaker`` (what the fetcher and bookings use)."""

    def __init__(self, shared: RedisBreaker, health: RedisHealth, *, clock: Callable[[], float] = time.time) -> None:
        self.shared = shared
        self.supplier = shared.supplier
        self.policy: BreakerPolicy = shared.policy
        self.local = CircuitBreaker(shared.supplier, shared.policy, clock)
        self._health = health

    @property
    def state_key(self) -> str:
        return self.shared.state_key

    async def allow(self) -> bool:
        if self._health.should_try():
            try:
                allowed = await self.shared.allow()
            except REDIS_DOWN as exc:
                self._go_local(exc)
            else:
                self._health.succeeded()
                return allowed
        return self.local.allow()

    async def record_call(self, outcome: CallOutcome, available: int = 0, unavailable: int = 0) -> None:
        self.local.record_call(outcome, available, unavailable)
        await self._shared_or_local(lambda: self.shared.record_call(outcome, available, unavailable))

    async def record_booking(self, ok: bool) -> None:
        self.local.record_booking(ok)
        await self._shared_or_local(lambda: self.shared.record_booking(ok))

    async def snapshot(self) -> BreakerSnapshot:
        if not self._health.local:
            try:
                return await self.shared.snapshot()
            except REDIS_DOWN as exc:
                self._go_local(exc)
        return self.local.snapshot()

    def local_state(self) -> BreakerState:
        return self.local.state

    async def state(self) -> BreakerState:
        return await self.shared.state()

    async def reset(self) -> None:
        await self.shared.reset()

    async def _shared_or_local(self, call: Callable[[], Awaitable[None]]) -> None:
        if not self._health.should_try():
            return  # Redis is known down: the local breaker has the outcome
        try:
            await call()
        except REDIS_DOWN as exc:
            self._go_local(exc)
        else:
            self._health.succeeded()

    def _go_local(self, exc: BaseException) -> None:
        self._health.failed(exc)
        last = self.shared.last_state
        if last is not None and last.phase is not Phase.CLOSED and self.local.state.phase is Phase.CLOSED:
            self.local.state = last  # the cluster had it open: this node's own history is not enough


def fallback_breakers(
    shared: Mapping[str, RedisBreaker], health: RedisHealth, *, clock: Callable[[], float] = time.time
) -> dict[str, FallbackBreaker]:
    return {name: FallbackBreaker(breaker, health, clock=clock) for name, breaker in shared.items()}
