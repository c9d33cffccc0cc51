"""Client mistakes and conflicts, each with its HTTP status and a code clients can switch on."""

from __future__ import annotations


class TicketError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(TicketError):
    status = 404
    code = "not_found"


class SeatTaken(TicketError):
    status = 409
    code = "seat_taken"


class HoldExpired(TicketError):
    status = 409
    code = "hold_expired"


class HoldUsed(TicketError):
    status = 409
    code = "hold_used"


class IdempotencyMismatch(TicketError):
    status = 422
    code = "idempotency_key_reused"


class Invalid(TicketError):
    status = 422
    code = "invalid"


class MissingIdempotencyKey(TicketError):
    status = 400
    code = "idempotency_key_missing"


class Unauthorized(TicketError):
    status = 401
    code = "unknown_session"


class Forbidden(TicketError):
    status = 403
    code = "forbidden"


class Unavailable(TicketError):
    """A dependency is down (database failover, no Redis master): retry later."""

    status = 503
    code = "unavailable"
