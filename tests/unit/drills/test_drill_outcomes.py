"""How a failed request is recorded: a probe's `fail` (definitely not applied) or `info`
(unknown), and the split-brain sampler's `not writable` or `unknown`. A sampler that cannot
log in must be unknown, never "not writable", or a blind drill passes."""

import httpx
import psycopg
import pytest
import redis.exceptions

from roadie.drills.outcomes import NotSent, Refused, outcome
from roadie.drills.probes import NotReplicated
from roadie.drills.watch import member_state


def _http_error(status: int) -> httpx.HTTPStatusError:
    request = httpx.Request("POST", "http://lb/v1/bookings")
    return httpx.HTTPStatusError("error", request=request, response=httpx.Response(status, request=request))


def _refused_below() -> redis.exceptions.ConnectionError:
    """redis-py's way: its own ConnectionError, raised while handling the refused OSError."""
    exc = redis.exceptions.ConnectionError("Error 111 connecting to 127.1.1.21:6379")
    exc.__context__ = ConnectionRefusedError(111, "Connection refused")
    return exc


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (NotSent("cannot connect"), "fail"),
        (Refused("409 for seat 7"), "fail"),
        (_http_error(422), "fail"),
        (_http_error(503), "info"),
        (httpx.ConnectError("refused"), "fail"),
        (httpx.ReadTimeout("read"), "info"),
        (psycopg.errors.ReadOnlySqlTransaction("read-only"), "fail"),
        (psycopg.errors.AdminShutdown("terminating connection"), "info"),
        (psycopg.OperationalError("consuming input failed: server closed the connection"), "info"),
        (redis.exceptions.ReadOnlyError("READONLY"), "fail"),
        (NotReplicated("0 of 1 online replicas"), "info"),
        (_refused_below(), "fail"),
        (redis.exceptions.TimeoutError("Timeout reading"), "info"),
        (TimeoutError(), "info"),
    ],
)
def test_a_failed_request_is_fail_only_when_it_was_definitely_not_applied(exc, expected) -> None:
    assert outcome(exc) == expected


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (TimeoutError(), "not writable"),
        (psycopg.errors.ReadOnlySqlTransaction("cannot execute INSERT in a read-only transaction"), "not writable"),
        (psycopg.errors.AdminShutdown("terminating connection due to administrator command"), "not writable"),
        (psycopg.OperationalError('connection to server at "127.1.1.11" failed: Connection refused'), "not writable"),
        (psycopg.OperationalError("FATAL:  the database system is starting up"), "not writable"),
        (psycopg.OperationalError('FATAL:  password authentication failed for user "app"'), "unknown"),
        (psycopg.errors.UndefinedTable('relation "drill_fence" does not exist'), "unknown"),
        (psycopg.errors.InsufficientPrivilege("permission denied for table drill_fence"), "unknown"),
        (ValueError("a bug in the sampler"), "unknown"),
    ],
)
def test_the_sampler_says_not_writable_only_for_what_a_fenced_member_answers(exc, expected) -> None:
    assert member_state(exc) == expected
