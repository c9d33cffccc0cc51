"""HTTP API of the ticketing half: /v1/cities, /v1/events, /v1/holds, /v1/bookings, /v1/sessions.

Reading the catalogue is open; creating events needs the operator token; holding, buying and a
booking's reads and cancels need a customer session, and answer only the customer who owns the
hold or booking (app.common.auth)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status

from app.common.auth import Customer, CustomerToken, Operator
from app.tickets import errors
from app.tickets.booking import Bookings, validate_idempotency_key
from app.tickets.catalogue import Catalogue
from app.tickets.models import (
    Booking,
    BookingCreate,
    City,
    Event,
    EventCreate,
    EventDetail,
    EventStats,
    Hold,
    HoldCreate,
    Problem,
    SeatMap,
    Session,
)
from app.tickets.sessions import Sessions

PROBLEMS: dict[int | str, dict[str, object]] = {
    code: {"model": Problem} for code in (400, 401, 403, 404, 409, 422, 503)
}
KeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Unique per purchase; a retry with the same key is answered with the same booking.",
        max_length=200,
    ),
]

router = APIRouter(prefix="/v1", tags=["tickets"], responses=PROBLEMS)


def _catalogue(request: Request) -> Catalogue:
    return request.app.state.tickets.catalogue


def _bookings(request: Request) -> Bookings:
    return request.app.state.tickets.bookings


def _sessions(request: Request) -> Sessions:
    return request.app.state.tickets.sessions


@router.get("/cities", response_model=list[City])
async def list_cities(request: Request) -> list[City]:
    return _catalogue(request).cities()


@router.get("/events", response_model=list[Event])
async def list_events(
    request: Request,
    city_id: Annotated[int, Query(ge=1, le=2**31 - 1)],
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    """Active events of a city between two dates (default: the next 90 days); cached, from replicas."""
    # Already-serialized JSON (from the cache): no second validation on the hot path.
    body = await _catalogue(request).list_events(city_id, date_from, date_to, limit)
    return Response(content=body, media_type="application/json")


@router.post("/events", response_model=EventDetail, status_code=status.HTTP_201_CREATED, dependencies=[Operator])
async def create_event(request: Request, body: EventCreate) -> EventDetail:
    """Create an event with its seat plan (rows x seats per sector) in the city's shard."""
    return await _catalogue(request).create_event(body)


@router.get("/events/{event_id}", response_model=EventDetail)
async def get_event(request: Request, event_id: int) -> EventDetail:
    return await _catalogue(request).detail(_positive(event_id, "event"))


@router.get("/events/{event_id}/seats", response_model=SeatMap)
async def get_seats(request: Request, event_id: int) -> SeatMap:
    """Every seat with its status now (an expired hold shows as available)."""
    return await _catalogue(request).seat_map(_positive(event_id, "event"))


@router.get("/events/{event_id}/stats", response_model=EventStats, dependencies=[Operator])
async def get_stats(request: Request, event_id: int) -> EventStats:
    """Tickets sold and revenue (the organiser's figures: operator token), as counted by the
    booking-events consumer (eventually consistent)."""
    return await _catalogue(request).stats(_positive(event_id, "event"))


@router.post("/sessions", response_model=Session, status_code=status.HTTP_201_CREATED)
async def create_session(request: Request, token: CustomerToken) -> Session:
    """Open a session for the customer token's customer (it expires no later than the token)."""
    return await _sessions(request).create(token.subject, token.expires_at)


@router.post("/holds", response_model=Hold, status_code=status.HTTP_201_CREATED)
async def create_hold(request: Request, body: HoldCreate, session: Customer) -> Hold:
    """Hold seats for some minutes; confirm them with POST /v1/bookings {hold_id}."""
    return await _bookings(request).hold(body, session.id, session.customer)


@router.post(
    "/bookings",
    response_model=Booking,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": Booking, "description": "A retry: the booking made by the first request."}},
)
async def create_booking(
    request: Request,
    response: Response,
    body: BookingCreate,
    session: Customer,
    idempotency_key: KeyHeader = None,
) -> Booking:
    """Buy held seats (hold_id, of this customer) or seats directly (event_id + seat_ids) for the
    session's customer. Needs an Idempotency-Key."""
    key = validate_idempotency_key(idempotency_key)
    result = await _bookings(request).book(body, key, session.id, session.customer)
    if result.replayed:
        response.status_code = status.HTTP_200_OK
        response.headers["Idempotent-Replayed"] = "true"
    return result.booking


@router.get("/bookings/{booking_id}", response_model=Booking)
async def get_booking(request: Request, booking_id: int, session: Customer) -> Booking:
    """A booking of the session's customer (403 for another customer's)."""
    return await _bookings(request).get(_positive(booking_id, "booking"), session.customer)


@router.post("/bookings/{booking_id}/cancel", response_model=Booking)
async def cancel_booking(request: Request, booking_id: int, session: Customer) -> Booking:
    """Cancel a booking of the session's customer and release its seats; cancelling again
    answers the same booking."""
    return await _bookings(request).cancel(_positive(booking_id, "booking"), session.customer)


def _positive(value: int, what: str) -> int:
    if not 0 < value < 2**63:
        raise errors.NotFound(f"{what} {value} does not exist")
    return value
