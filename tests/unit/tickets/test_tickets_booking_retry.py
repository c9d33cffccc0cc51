"""Bookings re-run through a failover: which database failures are transient (and whether the
failed transaction may have committed), the backoff schedule, and the deadline. The loop runs
on a virtual clock: `sleep` advances it, so deadlines are exact and the tests take no time."""

import asyncio

import psycopg
import pytest
from psycopg import errors as pg
from psycopg_pool import PoolTimeout

from app.common.db import Transient, transient_failure
from app.common.retry import MIN_CONNECTION_WAIT, Backoff, RetryPolicy, retry_until_deadline
from app.common.settings import Settings, TicketSettings
from app.tickets import errors
from app.tickets.booking import _retried_result
from app.tickets.service import booking_retry
from tests.unit.tickets.test_tickets_settings import VALID


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (PoolTimeout("couldn't get a connection after 1.00 sec"), Transient("no connection", False)),
        (psycopg.OperationalError("consuming input failed: server closed"), Transient("connection lost", True)),
        (pg.ConnectionFailure("connection failure"), Transient("connection lost", True)),
        (pg.ReadOnlySqlTransaction("cannot execute INSERT in a read-only transaction"), Transient("read-only", False)),
        (pg.SerializationFailure("could not serialize access"), Transient("serialization", False)),
        (pg.CannotConnectNow("the database system is starting up"), Transient("cannot connect now", False)),
        (pg.AdminShutdown("terminating connection due to administrator command"), Transient("admin shutdown", True)),
        (pg.CrashShutdown("terminating connection because of crash"), Transient("crash shutdown", True)),
    ],
)
def test_failover_failures_are_transient_and_say_whether_the_commit_may_have_happened(exc, expected):
    assert transient_failure(exc) == expected


@pytest.mark.parametrize(
    "exc",
    [
        pg.UniqueViolation("duplicate key value violates unique constraint"),
        pg.QueryCanceled("canceling statement due to statement timeout"),
        pg.DeadlockDetected("deadlock detected"),  # the lock order forbids it: a bug, not a failover
        pg.ProtocolViolation("protocol violation"),
        pg.TooManyConnections("too many clients already"),
        psycopg.InterfaceError("the connection is closed"),  # no sqlstate, but not a lost connection
        ValueError("not a database error"),
    ],
)
def test_failures_of_the_request_itself_are_not_retried(exc):
    assert transient_failure(exc) is None


def test_backoff_doubles_from_the_first_wait_up_to_the_cap_and_jitters_in_its_upper_half():
    backoff = Backoff(initial=0.05, cap=0.5)
    assert [backoff.ceiling(n) for n in range(6)] == [0.05, 0.1, 0.2, 0.4, 0.5, 0.5]
    assert backoff.ceiling(10_000) == 0.5  # no overflow on a very long outage
    assert backoff.delay(3, 0.0) == pytest.approx(0.2)
    assert backoff.delay(3, 0.999) == pytest.approx(0.4, abs=1e-3)


class VirtualTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Outage:
    """A database without a primary until `back_at` (virtual seconds); each attempt costs
    `attempt_s` and fails with `failure` until then."""

    def __init__(self, time: VirtualTime, back_at: float, failure: BaseException, attempt_s: float = 0.0) -> None:
        self.time = time
        self.back_at = back_at
        self.failure = failure
        self.attempt_s = attempt_s
        self.waits: list[float] = []

    async def attempt(self, wait: float) -> str:
        self.waits.append(wait)
        self.time.now += self.attempt_s
        if self.time.now < self.back_at:
            raise self.failure
        return "booked"


POLICY = RetryPolicy(deadline=25.0, backoff=Backoff(0.05, 0.5), connection_wait=1.0)


def run(outage: Outage, time: VirtualTime, policy: RetryPolicy = POLICY, draw: float = 0.5) -> tuple[str, list]:
    reruns: list[Transient] = []
    rerun = retry_until_deadline(
        outage.attempt, policy, transient_failure, reruns.append, clock=time.clock, sleep=time.sleep, draw=lambda: draw
    )
    result = asyncio.run(rerun)
    return result, reruns


def test_a_booking_is_re_run_until_the_primary_is_back_and_starts_at_most_one_backoff_late():
    time = VirtualTime()
    outage = Outage(time, back_at=20.0, failure=PoolTimeout("no connection"), attempt_s=1.0)
    result, reruns = run(outage, time)
    assert result == "booked"
    assert {r.reason for r in reruns} == {"no connection"}
    assert len(reruns) == len(outage.waits) - 1
    assert time.now - outage.back_at <= POLICY.backoff.cap + 1.0  # one backoff and one attempt
    assert max(time.sleeps) <= POLICY.backoff.cap


def test_past_the_deadline_the_last_failure_is_the_answer_and_no_attempt_starts_after_it():
    time = VirtualTime()
    failure = pg.AdminShutdown("terminating connection due to administrator command")
    outage = Outage(time, back_at=1000.0, failure=failure, attempt_s=0.3)
    with pytest.raises(pg.AdminShutdown):
        run(outage, time)
    assert time.now <= POLICY.deadline + 0.3
    assert time.now > POLICY.deadline - POLICY.backoff.cap - 0.3  # it used its deadline


def test_no_attempt_waits_for_a_connection_past_the_deadline():
    time = VirtualTime()
    policy = RetryPolicy(deadline=3.0, backoff=Backoff(0.5, 0.5), connection_wait=2.0)
    outage = Outage(time, back_at=1000.0, failure=PoolTimeout("no connection"))
    with pytest.raises(PoolTimeout):
        run(outage, time, policy, draw=0.0)
    # Attempts start at 0, 0.25, 0.5, ... with draw 0 (half the 0.5 s ceiling): each waits 2 s at
    # most, and never beyond 3 s after the first.
    starts = [0.25 * n for n in range(len(outage.waits))]
    assert all(start + wait <= policy.deadline + 1e-9 for start, wait in zip(starts, outage.waits, strict=True))
    assert min(outage.waits) >= MIN_CONNECTION_WAIT


def test_a_failure_of_the_request_is_answered_at_once():
    time = VirtualTime()
    outage = Outage(time, back_at=1000.0, failure=pg.UniqueViolation("duplicate key"))
    with pytest.raises(pg.UniqueViolation):
        run(outage, time)
    assert outage.waits == [POLICY.connection_wait]
    assert time.sleeps == []


def test_deadline_zero_means_one_attempt_with_the_pools_usual_wait():
    settings = Settings.model_validate(VALID)
    off = settings.model_copy(update={"tickets": TicketSettings(booking_retry_deadline_seconds=0)})
    policy = booking_retry(off)
    assert policy.connection_wait == settings.postgres.pool_timeout
    time = VirtualTime()
    outage = Outage(time, back_at=1.0, failure=PoolTimeout("no connection"))
    with pytest.raises(PoolTimeout):
        run(outage, time, policy)
    assert len(outage.waits) == 1
    assert booking_retry(settings).deadline == TicketSettings().booking_retry_deadline_seconds


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"booking_retry_backoff_first_seconds": 1.0, "booking_retry_backoff_max_seconds": 0.5}, "must not exceed"),
        ({"booking_retry_deadline_seconds": 0.2}, "at least the longest backoff"),
        ({"booking_retry_deadline_seconds": -1}, "greater than or equal to 0"),
        ({"booking_retry_deadline_seconds": 600}, "less than or equal to 120"),
    ],
)
def test_retry_settings_that_cannot_work_are_refused(fields, message):
    with pytest.raises(ValueError, match=message):
        TicketSettings(**fields)


def test_a_re_run_booking_that_did_not_succeed_is_counted_by_how_it_ended():
    assert _retried_result(errors.SeatTaken("seat 7 is already held or sold")) == "refused"
    assert _retried_result(PoolTimeout("no connection")) == "gave_up"
    assert _retried_result(pg.QueryCanceled("canceling statement due to statement timeout")) == "failed"
