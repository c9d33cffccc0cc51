"""Per-supplier circuit breaker: a pure state machine, and an in-process breaker built on it.

States::

    CLOSED ──trip──▶ OPEN ──open time over──▶ HALF_OPEN ──all probe stages pass──▶ CLOSED
                      ▲                           │
                      └────── a probe stage fails ┘   (level + 1: the next open time doubles)

Trips (evaluated on the outcomes since the breaker last closed, within ``window``):

- failure rate: errors + timeouts >= ``max_failure_rate`` of at least ``min_calls`` calls
  (reason ``timeouts`` if timeouts are the larger part, else ``error_rate``). The default 0.35
  is the design document's "success rate below 65 %".
- all unavailable: at least ``min_unavailable_answers`` hotels answered and at least
  ``max_unavailable_share`` of them unavailable, in the last ``unavailable_window`` (10 s) or in
  the whole trip window: the supplier switched everything off and every answer would poison the
  negative cache. A share, not "not one available", and the short window: otherwise the trip
  waits until every earlier "available" has left the 60 s window, while each "unavailable" goes
  into the negative cache (the fetcher drops what the episode wrote once it trips).
- booking failures: of at least ``min_bookings`` bookings of offers the supplier showed as
  available (within ``average_window``, 15 minutes), ``max_booking_failure_rate`` or more failed.

Exponential re-enable: an open breaker stays open ``base_open * backoff_factor ** level``
(5 minutes, 10, 20, ... at most ``max_open``, 2 hours), times ``time_scale`` (1 in production,
e.g. 0.01 in the lab). Then it lets probe traffic through in ``ramp_stages`` stages whose quota
doubles (5, 10, 20, 40 calls): traffic comes back exponentially. A failed stage re-opens at the
next level; after all stages it closes. A breaker that tripped on booking failures closes only
once ``probe_bookings`` bookings made while half-open went through (search successes say nothing
about bookability): until then its last stage repeats. The level is kept after closing, so a flapping supplier
stays out longer each time, and is forgotten once the breaker has stayed closed for
``level_reset_after``.

All functions here are pure: state in, state out, time passed in. ``CircuitBreaker`` holds the
state in process with an injected clock; ``breaker_redis.RedisBreaker`` shares it across nodes.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

from app.search.breaker_window import CallOutcome, Counts, SlidingCounts
from app.search.durations import parse_duration


class Phase(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


PHASE_GAUGE = {Phase.CLOSED: 0, Phase.HALF_OPEN: 1, Phase.OPEN: 2}


class TripReason(StrEnum):
    ERROR_RATE = "error_rate"
    TIMEOUTS = "timeouts"
    ALL_UNAVAILABLE = "all_unavailable"
    BOOKING_FAILURES = "booking_failures"


_DURATIONS = (
    "window",
    "unavailable_window",
    "base_open",
    "max_open",
    "probe_stall",
    "level_reset_after",
    "average_window",
)


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    window: float = 60.0
    min_calls: int = 20
    max_failure_rate: float = 0.35
    min_unavailable_answers: int = 50
    max_unavailable_share: float = 0.95  # normal is ~50 %: far above it means switched off
    unavailable_window: float = 10.0
    min_bookings: int = 5
    max_booking_failure_rate: float = 0.5
    base_open: float = 300.0
    max_open: float = 7200.0
    backoff_factor: float = 2.0
    time_scale: float = 1.0
    probe_calls: int = 5
    probe_bookings: int = 3
    ramp_stages: int = 4
    probe_stall: float = 30.0
    level_reset_after: float = 7200.0
    average_window: float = 900.0

    def __post_init__(self) -> None:
        rates = (self.max_failure_rate, self.max_booking_failure_rate, self.max_unavailable_share)
        if not all(0 < rate <= 1 for rate in rates):
            raise ValueError("failure-rate thresholds and max_unavailable_share must be in (0, 1]")
        counts = (
            self.min_calls,
            self.min_unavailable_answers,
            self.min_bookings,
            self.probe_calls,
            self.probe_bookings,
        )
        if min(counts) < 1:
            raise ValueError("minimum counts, probe_calls and probe_bookings must be >= 1")
        if not 0 < self.unavailable_window <= self.window:
            raise ValueError(f"need 0 < unavailable_window <= window (got {self.unavailable_window}, {self.window})")
        if self.ramp_stages < 1 or self.backoff_factor < 1 or self.time_scale <= 0:
            raise ValueError("need ramp_stages >= 1, backoff_factor >= 1 and time_scale > 0")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> BreakerPolicy:
        """From configuration; durations may be strings such as ``5m`` or ``2h``."""
        known = {name for name in cls.__dataclass_fields__}
        unknown = set(config) - known
        if unknown:
            raise ValueError(f"unknown breaker settings {sorted(unknown)}; known: {sorted(known)}")
        values = {k: parse_duration(v) if k in _DURATIONS else v for k, v in config.items()}
        return cls(**values)

    def open_seconds(self, level: int) -> float:
        """How long the breaker stays open at ``level`` (0 = first trip)."""
        return min(self.base_open * self.backoff_factor**level, self.max_open) * self.time_scale

    def probe_quota(self, stage: int) -> int:
        return self.probe_calls * 2**stage

    def scaled(self, seconds: float) -> float:
        return seconds * self.time_scale


@dataclass(frozen=True, slots=True)
class BreakerState:
    """One supplier's breaker. ``version`` grows with every change (compare-and-set in Redis)."""

    phase: Phase = Phase.CLOSED
    level: int = 0
    reason: TripReason | None = None
    changed_at: float = -math.inf
    open_until: float = 0.0
    stage: int = 0
    admitted: int = 0
    probe: Counts = field(default_factory=Counts)
    version: int = 0

    def to_json(self) -> str:
        data = asdict(self)
        data["changed_at"] = None if math.isinf(self.changed_at) else self.changed_at
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> BreakerState:
        data = json.loads(raw)
        return cls(
            phase=Phase(data["phase"]),
            level=int(data["level"]),
            reason=TripReason(data["reason"]) if data.get("reason") else None,
            changed_at=-math.inf if data.get("changed_at") is None else float(data["changed_at"]),
            open_until=float(data["open_until"]),
            stage=int(data["stage"]),
            admitted=int(data["admitted"]),
            probe=Counts(**data["probe"]),
            version=int(data["version"]),
        )


def switched_off(counts: Counts, policy: BreakerPolicy, min_answers: int) -> bool:
    """Enough hotels answered, and (nearly) all of them unavailable."""
    return counts.answers >= min_answers and counts.unavailable_share >= policy.max_unavailable_share


def hides_offers(state: BreakerState) -> bool:
    """Must the supplier's offers, cached ones included, stay out of search answers?

    After a trip on booking failures its offers do not book: until probe bookings pass, only the
    fresh answers of half-open probe calls are shown (the probe bookings need offers to book)."""
    return state.phase is not Phase.CLOSED and state.reason is TripReason.BOOKING_FAILURES


def trip_reason(window: Counts, long_window: Counts, policy: BreakerPolicy, recent: Counts) -> TripReason | None:
    """Why a closed breaker must open, given the outcomes in its windows; None to stay closed.

    ``recent`` is the last ``unavailable_window`` of ``window``."""
    if window.calls >= policy.min_calls and window.failure_rate >= policy.max_failure_rate:
        return TripReason.TIMEOUTS if window.timeouts > window.errors else TripReason.ERROR_RATE
    if any(switched_off(counts, policy, policy.min_unavailable_answers) for counts in (recent, window)):
        return TripReason.ALL_UNAVAILABLE
    if (
        long_window.bookings >= policy.min_bookings
        and long_window.booking_failure_rate >= policy.max_booking_failure_rate
    ):
        return TripReason.BOOKING_FAILURES
    return None


def probe_verdict(probe: Counts, quota: int, policy: BreakerPolicy) -> TripReason | None:
    """Why a half-open stage failed, or None if it passed (or may still pass)."""
    if probe.failures > quota * policy.max_failure_rate:
        return TripReason.TIMEOUTS if probe.timeouts > probe.errors else TripReason.ERROR_RATE
    if probe.calls >= quota and switched_off(probe, policy, quota):
        return TripReason.ALL_UNAVAILABLE
    if probe.booking_failures >= max(1, math.ceil(policy.probe_bookings * policy.max_booking_failure_rate)):
        return TripReason.BOOKING_FAILURES  # the probe bookings can no longer pass
    return None


def bookings_passed(probe: Counts, policy: BreakerPolicy) -> bool:
    return probe.bookings >= policy.probe_bookings and probe.booking_failure_rate < policy.max_booking_failure_rate


def open_breaker(state: BreakerState, policy: BreakerPolicy, now: float, reason: TripReason) -> BreakerState:
    if state.phase is Phase.HALF_OPEN:
        level = state.level + 1
    elif now - state.changed_at >= policy.scaled(policy.level_reset_after):
        level = 0  # long healthy since the last trip: start again from the shortest open time
    else:
        level = state.level + 1
    return BreakerState(
        phase=Phase.OPEN,
        level=level,
        reason=reason,
        changed_at=now,
        open_until=now + policy.open_seconds(level),
        version=state.version + 1,
    )


def admit(state: BreakerState, policy: BreakerPolicy, now: float) -> tuple[bool, BreakerState]:
    """May one call go to the supplier now? Returns the decision and the (maybe new) state."""
    if state.phase is Phase.CLOSED:
        return True, state
    if state.phase is Phase.OPEN:
        if now < state.open_until:
            return False, state
        state = replace(
            state, phase=Phase.HALF_OPEN, changed_at=now, stage=0, admitted=0, probe=Counts(),
            version=state.version + 1,
        )  # fmt: skip
    if state.admitted > state.probe.calls and now - state.changed_at > policy.scaled(policy.probe_stall):
        # Probes admitted long ago never reported (a node died mid-call): let others take their place.
        state = replace(state, admitted=state.probe.calls, changed_at=now, version=state.version + 1)
    if state.admitted >= policy.probe_quota(state.stage):
        return False, state
    return True, replace(state, admitted=state.admitted + 1, version=state.version + 1)


def observe(
    state: BreakerState,
    policy: BreakerPolicy,
    now: float,
    outcome: Counts,
    *,
    window: Counts,
    long_window: Counts,
    recent: Counts,
) -> BreakerState:
    """The state after ``outcome`` (one call or booking). ``window``/``long_window``/``recent``
    already hold it and count only outcomes since the breaker last changed phase."""
    if state.phase is Phase.CLOSED:
        reason = trip_reason(window, long_window, policy, recent)
        return open_breaker(state, policy, now, reason) if reason else state
    booking_trip = state.reason is TripReason.BOOKING_FAILURES
    if state.phase is Phase.OPEN or not (outcome.calls or (booking_trip and outcome.bookings)):
        return state  # late answers from before the trip, or a booking that probes nothing
    probe = state.probe + outcome
    quota = policy.probe_quota(state.stage)
    reason = probe_verdict(probe, quota, policy)
    if reason:
        return open_breaker(state, policy, now, reason)
    if probe.calls < quota:
        return replace(state, probe=probe, version=state.version + 1)
    last_stage = state.stage + 1 >= policy.ramp_stages
    if last_stage and not (booking_trip and not bookings_passed(probe, policy)):
        return BreakerState(phase=Phase.CLOSED, level=state.level, changed_at=now, version=state.version + 1)
    # Next stage, or (a booking trip whose probe bookings have not passed yet) the last one again;
    # the probe bookings so far carry over.
    return replace(
        state,
        stage=state.stage if last_stage else state.stage + 1,
        admitted=0,
        probe=Counts(bookings=probe.bookings, booking_failures=probe.booking_failures),
        changed_at=now,
        version=state.version + 1,
    )


@dataclass(frozen=True, slots=True)
class BreakerSnapshot:
    """What metrics and alerts read: one per supplier."""

    supplier: str
    phase: Phase
    level: int
    reason: TripReason | None
    open_until: float
    changed_at: float  # when the phase last changed: names a trip (an episode) across nodes
    success_rate: float | None  # over ``window``
    success_rate_15m: float | None  # moving average over ``average_window`` (weighted by calls)
    calls_15m: int


class CircuitBreaker:
    """One supplier's breaker in this process (tests, single-node use). Not thread-safe."""

    def __init__(self, supplier: str, policy: BreakerPolicy, clock: Callable[[], float] = time.time) -> None:
        self.supplier = supplier
        self.policy = policy
        self.state = BreakerState()
        self._clock = clock
        self._window = SlidingCounts(policy.window, buckets=10)
        self._long = SlidingCounts(policy.average_window, buckets=15)

    def allow(self) -> bool:
        allowed, self.state = admit(self.state, self.policy, self._clock())
        return allowed

    def record_call(self, outcome: CallOutcome, available: int = 0, unavailable: int = 0) -> None:
        self._record(Counts.call(outcome, available, unavailable))

    def record_booking(self, ok: bool) -> None:
        self._record(Counts.booking(ok))

    def snapshot(self) -> BreakerSnapshot:
        now = self._clock()
        short, long = self._window.total(now), self._long.total(now)
        return BreakerSnapshot(
            supplier=self.supplier,
            phase=self.state.phase,
            level=self.state.level,
            reason=self.state.reason,
            open_until=self.state.open_until,
            changed_at=self.state.changed_at,
            success_rate=short.success_rate,
            success_rate_15m=long.success_rate,
            calls_15m=long.calls,
        )

    def _record(self, outcome: Counts) -> None:
        now = self._clock()
        self._window.add(now, outcome)
        self._long.add(now, outcome)
        since = self.state.changed_at
        self.state = observe(
            self.state,
            self.policy,
            now,
            outcome,
            window=self._window.total(now, since),
            long_window=self._long.total(now, since),
            recent=self._window.total(now, max(since, now - self.policy.unavailable_window)),
        )
