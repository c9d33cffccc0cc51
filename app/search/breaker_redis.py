"""The circuit breaker with its state in Redis, so every search node sees and changes the same one.

Keys per supplier (``prefix`` defaults to ``breaker:v1``)::

    <prefix>:<supplier>:state       JSON of ``breaker.BreakerState`` (no expiry; a few hundred bytes)
    <prefix>:<supplier>:w:<n>       hash of ``Counts`` for bucket n of the trip window (expires)
    <prefix>:<supplier>:m:<n>       hash of ``Counts`` for bucket n of the 15-minute window (expires)

Recording an outcome is one round trip: ``HINCRBY`` into the current buckets (commutative, so
nodes never contend on counts), plus ``GET`` of the state and ``HGETALL`` of the window's buckets
in the same pipeline. The node then runs the pure transition (``breaker.observe``); only a phase
or probe change writes the state, with a compare-and-set Lua script, retried on conflict. When
two nodes trip the same breaker at once, one wins and the other sees it open. A closed breaker
admits a call after one ``GET``.

Time is each node's wall clock (NTP-synchronised hosts); the windows are seconds to minutes long,
far above clock skew.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from app.search.breaker import BreakerPolicy, BreakerSnapshot, BreakerState, admit, observe
from app.search.breaker_window import CallOutcome, Counts, SlidingCounts

if TYPE_CHECKING:
    from redis.asyncio import Redis

CAS_SCRIPT = """
local current = redis.call('GET', KEYS[1])
if current == false then current = '' end
if current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
"""

MAX_CAS_ATTEMPTS = 8


class BreakerContention(RuntimeError):
    """The breaker state kept changing under this node; the call is refused to stay safe."""


class RedisBreaker:
    """One supplier's breaker shared through Redis; the async twin of ``breaker.CircuitBreaker``."""

    def __init__(
        self,
        redis: Redis,
        supplier: str,
        policy: BreakerPolicy,
        *,
        clock: Callable[[], float] = time.time,
        prefix: str = "breaker:v1",
    ) -> None:
        self.supplier = supplier
        self.policy = policy
        self._redis = redis
        self._clock = clock
        self._base = f"{prefix}:{supplier}"
        self._short = SlidingCounts(policy.window, buckets=10)
        self._long = SlidingCounts(policy.average_window, buckets=15)
        self._cas = redis.register_script(CAS_SCRIPT)
        self.last_state: BreakerState | None = None  # as last read from Redis (local mode starts from it)

    @property
    def state_key(self) -> str:
        return f"{self._base}:state"

    async def state(self) -> BreakerState:
        return (await self._load())[1]

    async def allow(self) -> bool:
        """May one call go to this supplier now? (Takes a probe slot when half-open.)"""
        for _attempt in range(MAX_CAS_ATTEMPTS):
            raw, state = await self._load()
            allowed, new = admit(state, self.policy, self._clock())
            if new == state or await self._swap(raw, new):
                return allowed
        return False  # heavy contention only happens while half-open: refusing is the safe side

    async def record_call(self, outcome: CallOutcome, available: int = 0, unavailable: int = 0) -> None:
        await self._record(Counts.call(outcome, available, unavailable))

    async def record_booking(self, ok: bool) -> None:
        await self._record(Counts.booking(ok))

    async def snapshot(self) -> BreakerSnapshot:
        now = self._clock()
        raw, short, long = await self._read(now, None)
        state = _parse(raw)
        short_total = _sum(short, -math.inf, self._short.bucket_seconds)
        long_total = _sum(long, -math.inf, self._long.bucket_seconds)
        return BreakerSnapshot(
            supplier=self.supplier,
            phase=state.phase,
            level=state.level,
            reason=state.reason,
            open_until=state.open_until,
            changed_at=state.changed_at,
            success_rate=short_total.success_rate,
            success_rate_15m=long_total.success_rate,
            calls_15m=long_total.calls,
        )

    async def reset(self) -> None:
        """Forget the state (an operator's "close it now"); counts expire on their own."""
        await self._redis.delete(self.state_key)

    async def _record(self, outcome: Counts) -> None:
        now = self._clock()
        raw, short, long = await self._read(now, outcome)
        for _attempt in range(MAX_CAS_ATTEMPTS):
            state = _parse(raw)
            since = state.changed_at
            new = observe(
                state,
                self.policy,
                now,
                outcome,
                window=_sum(short, since, self._short.bucket_seconds),
                long_window=_sum(long, since, self._long.bucket_seconds),
                recent=_sum(short, max(since, now - self.policy.unavailable_window), self._short.bucket_seconds),
            )
            if new == state or await self._swap(raw, new):
                return
            raw = await self._redis.get(self.state_key) or b""
        raise BreakerContention(f"breaker {self.supplier}: state kept changing ({MAX_CAS_ATTEMPTS} tries)")

    async def _read(
        self, now: float, add: Counts | None
    ) -> tuple[bytes, list[tuple[int, dict[bytes, bytes]]], list[tuple[int, dict[bytes, bytes]]]]:
        """One round trip: add ``add`` to the current buckets, read the state and both windows."""
        short_numbers = self._short.numbers(now)
        long_numbers = self._long.numbers(now)
        pipe = self._redis.pipeline(transaction=False)
        if add is not None:
            for kind, numbers, window in (("w", short_numbers, self._short), ("m", long_numbers, self._long)):
                key = f"{self._base}:{kind}:{numbers[-1]}"
                for name, value in add.to_fields().items():
                    pipe.hincrby(key, name, value)
                pipe.expire(key, math.ceil(window.window + 2 * window.bucket_seconds))
        pipe.get(self.state_key)
        for number in short_numbers:
            pipe.hgetall(f"{self._base}:w:{number}")
        for number in long_numbers:
            pipe.hgetall(f"{self._base}:m:{number}")
        replies = await pipe.execute()
        replies = replies[len(replies) - 1 - len(short_numbers) - len(long_numbers) :]
        raw = replies[0] or b""
        self.last_state = _parse(raw)
        short = list(zip(short_numbers, replies[1 : 1 + len(short_numbers)], strict=True))
        long = list(zip(long_numbers, replies[1 + len(short_numbers) :], strict=True))
        return raw, short, long

    async def _load(self) -> tuple[bytes, BreakerState]:
        raw = await self._redis.get(self.state_key) or b""
        self.last_state = _parse(raw)
        return raw, self.last_state

    async def _swap(self, raw: bytes, new: BreakerState) -> bool:
        return bool(await self._cas(keys=[self.state_key], args=[raw, new.to_json()]))


async def load_states(redis: Redis, breakers: Sequence[RedisBreaker]) -> list[BreakerState]:
    """The state of each breaker in one round trip (``MGET``), for every search's offer filter."""
    if not breakers:
        return []
    raws = await redis.mget([breaker.state_key for breaker in breakers])
    return [_parse(raw or b"") for raw in raws]


def _parse(raw: bytes | str) -> BreakerState:
    return BreakerState.from_json(raw) if raw else BreakerState()


def _sum(buckets: Sequence[tuple[int, dict[bytes, bytes]]], since: float, bucket_seconds: float) -> Counts:
    first = -math.inf if math.isinf(since) else math.ceil(since / bucket_seconds)
    total = Counts()
    for number, fields in buckets:
        if number >= first and fields:
            total += Counts.from_fields(fields)
    return total
