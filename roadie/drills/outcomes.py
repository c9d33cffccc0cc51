"""How a failed probe request ended: `fail` when it was definitely not applied, `info` when
it may have been. Anything not known to be definite is `info`: calling a maybe-applied write
failed would let the set checker hide a lost or duplicated write.

Definite:
- `NotSent`: the probe could not connect, so no request went out;
- `Refused`: the service answered no (a 409 for a seat already sold);
- a connection refused anywhere below the client (nothing listened, nothing was sent);
- an HTTP 4xx answer (the app rejected the request);
- an SQL error the server reported for the statement, except connection (08), operator
  intervention (57: a shutdown can end a session whose commit is already local) and internal
  (XX) errors;
- a Redis error reply (READONLY, NOREPLICAS: the command was not executed) or no master known;
- a publish the broker nacked or returned.
A timeout, a connection lost after sending, a 5xx, and a Redis write no replica acknowledged in
time (`NotReplicated`: the master has it) are unknown.
"""

import httpx
import psycopg
import redis.exceptions
from redis.asyncio.sentinel import MasterNotFoundError

from roadie.checker.history import Completion

AMBIGUOUS_SQLSTATE_CLASSES = ("08", "57", "XX")
# Causes followed at most: chains are short, and a cycle must not hang a drill.
MAX_CAUSES = 8


class NotSent(Exception):
    """The request never left the client: connecting failed."""


class Refused(Exception):
    """The service answered, correctly, that it will not do it: not applied, and no error."""


def outcome(exc: BaseException) -> Completion:
    return "fail" if _definite(exc) else "info"


def _definite(exc: BaseException) -> bool:
    if isinstance(exc, NotSent | Refused | redis.exceptions.ResponseError):
        return True
    if isinstance(exc, MasterNotFoundError | httpx.ConnectError | httpx.ConnectTimeout):
        return True
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.is_client_error
    if isinstance(exc, psycopg.Error):
        return exc.sqlstate is not None and exc.sqlstate[:2] not in AMBIGUOUS_SQLSTATE_CLASSES
    if _is_nack(exc):
        return True
    return _refused_below(exc)


def _is_nack(exc: BaseException) -> bool:
    # pika is imported only by the RabbitMQ drill; its confirm errors are named here instead.
    return type(exc).__module__.startswith("pika") and type(exc).__name__ in ("NackError", "UnroutableError")


def _refused_below(exc: BaseException) -> bool:
    """A connection refused anywhere in the chain of causes (redis-py re-raises it as its own
    ConnectionError)."""
    seen: BaseException | None = exc
    for _ in range(MAX_CAUSES):
        if seen is None:
            return False
        if isinstance(seen, ConnectionRefusedError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
