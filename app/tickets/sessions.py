"""Sessions in Redis, so any app node serves any request (the nodes keep no state).

A session is opened with a customer token (app.common.auth) and bound to its customer; it
expires with the token, or after the configured lifetime if that comes first."""

from __future__ import annotations

import math
import secrets
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.common.singleflight import SingleFlight
from app.tickets import errors
from app.tickets.models import Session

SESSION_ID_BYTES = 24


def session_key(session_id: str) -> str:
    return f"tickets:session:{session_id}"


class Sessions:
    def __init__(self, redis: Redis, ttl: int) -> None:
        self._redis = redis
        self._ttl = ttl
        # A crowd on one session (a buyer's retries, a burst of tabs) asks Redis once: 500
        # concurrent lookups each opening a connection timed out some of them (503s).
        self._lookups = SingleFlight()

    async def create(self, customer: str, token_expires_at: float) -> Session:
        ttl = min(self._ttl, math.floor(token_expires_at - time.time()))
        if ttl < 1:
            raise errors.Unauthorized("the customer token expires now: get a fresh one from the issuer")
        session_id = secrets.token_urlsafe(SESSION_ID_BYTES)
        try:
            await self._redis.set(session_key(session_id), customer, ex=ttl)
        except RedisError as exc:
            raise errors.Unavailable("sessions are unavailable (Redis); retry shortly") from exc
        return Session(id=session_id, customer=customer, expires_in=ttl)

    async def customer(self, session_id: str | None) -> str | None:
        """The session's customer; None without a session; 401 for an unknown or expired one."""
        if session_id is None:
            return None
        if not session_id or len(session_id) > 100:
            raise errors.Unauthorized("malformed X-Session-Id")
        try:
            customer = await self._lookups.do(session_id, lambda: self._redis.get(session_key(session_id)))
        except RedisError as exc:
            raise errors.Unavailable("sessions are unavailable (Redis); retry shortly") from exc
        if customer is None:
            raise errors.Unauthorized("unknown or expired session; create one with POST /v1/sessions")
        return str(customer)
