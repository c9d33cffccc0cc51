"""The circuit breaker state machine, driven by an injected clock (no sleeps)."""

import pytest

from app.search.breaker import (
    BreakerPolicy,
    BreakerState,
    CircuitBreaker,
    Phase,
    TripReason,
)
from app.search.breaker_window import CallOutcome, Counts, SlidingCounts

OK, ERROR, TIMEOUT = CallOutcome.SUCCESS, CallOutcome.ERROR, CallOutcome.TIMEOUT


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make(**policy):
    clock = Clock()
    return CircuitBreaker("turkey-direct", BreakerPolicy(**policy), clock=clock), clock


def trip(breaker, clock, outcome=ERROR, calls=20):
    for _ in range(calls):
        clock.advance(0.1)
        assert breaker.allow()
        breaker.record_call(outcome)
    assert breaker.state.phase is Phase.OPEN


def pass_probe_stage(breaker):
    quota = breaker.policy.probe_quota(breaker.state.stage)
    for _ in range(quota):
        assert breaker.allow()
    assert not breaker.allow()  # the stage's quota is the probe traffic: no more
    for _ in range(quota):
        breaker.record_call(OK, available=2, unavailable=1)


def test_stays_closed_below_the_failure_threshold():
    breaker, clock = make()
    for i in range(100):
        assert breaker.allow()
        breaker.record_call(ERROR if i % 4 == 0 else OK)  # 25 % failures < 35 %
        clock.advance(0.5)
    assert breaker.state.phase is Phase.CLOSED


def test_needs_min_calls_before_judging():
    breaker, _ = make(min_calls=20)
    for _ in range(19):
        breaker.record_call(ERROR)
    assert breaker.state.phase is Phase.CLOSED
    breaker.record_call(ERROR)
    assert breaker.state.phase is Phase.OPEN
    assert breaker.state.reason is TripReason.ERROR_RATE


def test_trips_on_timeouts():
    breaker, clock = make()
    trip(breaker, clock, TIMEOUT)
    assert breaker.state.reason is TripReason.TIMEOUTS


def test_old_failures_leave_the_window():
    breaker, clock = make(window=60)
    for _ in range(15):
        breaker.record_call(ERROR)
    clock.advance(61)
    for _ in range(10):
        breaker.record_call(ERROR)
    assert breaker.state.phase is Phase.CLOSED


def test_trips_when_the_supplier_answers_everything_unavailable():
    breaker, _ = make(min_unavailable_answers=50)
    for _ in range(9):
        breaker.record_call(OK, available=0, unavailable=5)
    assert breaker.state.phase is Phase.CLOSED
    breaker.record_call(OK, available=0, unavailable=5)
    assert breaker.state.phase is Phase.OPEN
    assert breaker.state.reason is TripReason.ALL_UNAVAILABLE


def test_a_normal_share_of_unavailable_hotels_does_not_trip():
    breaker, _ = make(min_unavailable_answers=50)
    for _ in range(100):
        breaker.record_call(OK, available=1, unavailable=9)
    assert breaker.state.phase is Phase.CLOSED


def test_trips_on_booking_failures_of_offers_shown_available():
    breaker, clock = make(min_bookings=5, max_booking_failure_rate=0.5)
    for ok in (True, False, True, False):
        breaker.record_booking(ok)
        clock.advance(60)  # bookings are rare: judged over the 15-minute window
    assert breaker.state.phase is Phase.CLOSED
    breaker.record_booking(False)
    assert breaker.state.phase is Phase.OPEN
    assert breaker.state.reason is TripReason.BOOKING_FAILURES


def test_open_refuses_until_the_open_time_is_over_then_probes():
    breaker, clock = make(base_open=300)
    trip(breaker, clock)
    assert not breaker.allow()
    clock.advance(299)
    assert not breaker.allow()
    clock.advance(1)
    assert breaker.allow()
    assert breaker.state.phase is Phase.HALF_OPEN


def test_probe_traffic_ramps_up_exponentially_then_closes():
    breaker, clock = make(base_open=300, probe_calls=5, ramp_stages=4)
    trip(breaker, clock)
    clock.advance(300)
    quotas = []
    for _ in range(4):
        quotas.append(breaker.policy.probe_quota(breaker.state.stage))
        pass_probe_stage(breaker)
    assert quotas == [5, 10, 20, 40]
    assert breaker.state.phase is Phase.CLOSED
    assert breaker.allow()


def test_open_time_doubles_on_each_failed_probe_up_to_two_hours():
    breaker, clock = make(base_open=300, max_open=7200)
    trip(breaker, clock)
    open_times = []
    for _ in range(7):
        open_times.append(breaker.state.open_until - clock.now)
        clock.advance(breaker.state.open_until - clock.now)
        assert breaker.allow()
        breaker.record_call(ERROR)
        assert breaker.allow()
        breaker.record_call(ERROR)  # 2 of 5 probes failed: more than 35 % of the stage
        assert breaker.state.phase is Phase.OPEN
    assert open_times == pytest.approx([300, 600, 1200, 2400, 4800, 7200, 7200])


def test_lab_time_scale_shrinks_every_duration():
    breaker, clock = make(base_open=300, max_open=7200, time_scale=0.01)
    trip(breaker, clock)
    assert breaker.state.open_until - clock.now == pytest.approx(3.0)
    assert breaker.policy.open_seconds(10) == pytest.approx(72.0)


def test_a_flapping_supplier_stays_out_longer_and_a_healthy_one_is_forgiven():
    breaker, clock = make(base_open=300, level_reset_after=7200, probe_calls=1, ramp_stages=1)
    trip(breaker, clock)
    clock.advance(300)
    pass_probe_stage(breaker)
    assert breaker.state.phase is Phase.CLOSED
    clock.advance(60)
    trip(breaker, clock)  # trips again soon after closing: the next level
    assert breaker.state.level == 1
    assert breaker.state.open_until - clock.now == pytest.approx(600)
    clock.advance(600)
    pass_probe_stage(breaker)
    clock.advance(7200)
    trip(breaker, clock)  # healthy for two hours since: back to the shortest open time
    assert breaker.state.level == 0


def test_an_all_unavailable_probe_stage_reopens():
    breaker, clock = make(min_unavailable_answers=50, probe_calls=5)
    for _ in range(10):
        breaker.record_call(OK, available=0, unavailable=5)
    clock.advance(300)
    for _ in range(5):
        assert breaker.allow()
        breaker.record_call(OK, available=0, unavailable=3)
    assert breaker.state.phase is Phase.OPEN
    assert breaker.state.level == 1


def test_stalled_probes_free_their_slots():
    breaker, clock = make(probe_calls=2, probe_stall=30)
    trip(breaker, clock)
    clock.advance(300)
    assert breaker.allow()
    assert breaker.allow()
    assert not breaker.allow()  # both probes still out
    clock.advance(31)  # their node died: nobody will report them
    assert breaker.allow()


def test_success_rate_and_fifteen_minute_average():
    breaker, clock = make(min_calls=1000)
    for minute in range(15):
        clock.advance(60)
        for i in range(10):
            breaker.record_call(ERROR if (minute < 5 and i < 5) else OK)
    snapshot = breaker.snapshot()
    assert snapshot.success_rate == 1.0  # the last minute was clean
    assert snapshot.success_rate_15m == pytest.approx(125 / 150, abs=0.07)
    assert snapshot.phase is Phase.CLOSED


def test_state_round_trips_through_json():
    breaker, clock = make()
    trip(breaker, clock)
    assert BreakerState.from_json(breaker.state.to_json()) == breaker.state
    assert BreakerState.from_json(BreakerState().to_json()) == BreakerState()


def test_policy_from_config_with_durations_and_unknown_keys():
    policy = BreakerPolicy.from_config({"base_open": "5m", "max_open": "2h", "time_scale": 0.01})
    assert policy.open_seconds(0) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="unknown breaker settings"):
        BreakerPolicy.from_config({"open_for": "5m"})


def test_sliding_counts_since():
    window = SlidingCounts(60, buckets=6)
    window.add(0, Counts(calls=1))
    window.add(15, Counts(calls=2))
    assert window.total(15).calls == 3
    assert window.total(15, since=10).calls == 2
    assert window.total(65).calls == 2  # the bucket of t=0 has left the window
    assert window.total(200).calls == 0


def test_all_unavailable_trips_within_ten_seconds_although_earlier_answers_were_available():
    breaker, clock = make()  # window 60 s, unavailable_window 10 s, share 95 %
    for _ in range(50):  # a healthy supplier: half of the hotels available
        clock.advance(1)
        breaker.record_call(OK, available=5, unavailable=5)
    switched_off_at = clock.now
    while breaker.state.phase is Phase.CLOSED and clock.now - switched_off_at < 60:
        clock.advance(1)
        breaker.record_call(OK, available=0, unavailable=10)
    assert breaker.state.reason is TripReason.ALL_UNAVAILABLE
    assert clock.now - switched_off_at <= 12, "detected within ~10 s, not once the 60 s window is clear"


def test_a_small_supplier_trips_on_a_share_of_its_few_answers():
    breaker, clock = make(min_unavailable_answers=20)
    breaker.record_call(OK, available=1, unavailable=1)
    for _ in range(10):  # a few answers every 5 s: never 20 in 10 s, but 95 % of the minute
        clock.advance(5)
        breaker.record_call(OK, available=0, unavailable=4)
    assert breaker.state.reason is TripReason.ALL_UNAVAILABLE


def trip_on_bookings(breaker, clock):
    for _ in range(5):
        breaker.record_booking(False)
    assert breaker.state.reason is TripReason.BOOKING_FAILURES
    clock.advance(breaker.policy.open_seconds(breaker.state.level))


def test_a_booking_trip_does_not_close_on_search_successes_alone():
    breaker, clock = make(probe_bookings=3)
    trip_on_bookings(breaker, clock)
    for _ in range(4):
        pass_probe_stage(breaker)
    assert breaker.state.phase is Phase.HALF_OPEN, "searches answer, but nothing says bookings work"
    for _ in range(3):
        breaker.record_booking(True)  # probe bookings of offers the probe searches showed
    assert breaker.state.phase is Phase.HALF_OPEN
    pass_probe_stage(breaker)
    assert breaker.state.phase is Phase.CLOSED


def test_failing_probe_bookings_reopen_a_booking_trip():
    breaker, clock = make(probe_bookings=3)
    trip_on_bookings(breaker, clock)
    pass_probe_stage(breaker)
    breaker.record_booking(True)
    breaker.record_booking(False)
    breaker.record_booking(False)
    assert breaker.state.phase is Phase.OPEN
    assert breaker.state.reason is TripReason.BOOKING_FAILURES and breaker.state.level == 1


def test_bookings_do_not_probe_a_breaker_that_tripped_on_errors():
    breaker, clock = make()
    trip(breaker, clock)
    clock.advance(300)
    assert breaker.allow()
    breaker.record_booking(False)
    breaker.record_booking(False)
    assert breaker.state.phase is Phase.HALF_OPEN
