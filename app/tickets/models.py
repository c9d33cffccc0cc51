"""The API's request and response bodies; validation here answers 422 with the reason."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_SEATS_PER_EVENT = 5000
MAX_SEATS_PER_ORDER = 10
SeatStatus = Literal["available", "held", "sold"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class City(BaseModel):
    id: int
    name: str


class SectorPlan(_Body):
    name: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9 _-]+$")
    rows: int = Field(ge=1, le=100)
    seats_per_row: int = Field(ge=1, le=200)
    price: Decimal = Field(ge=0, le=100000, max_digits=10, decimal_places=2)


class EventCreate(_Body):
    city_id: int = Field(ge=1, le=2**31 - 1)
    venue: str = Field(min_length=1, max_length=200)
    title: str = Field(min_length=1, max_length=200)
    starts_at: datetime
    sectors: list[SectorPlan] = Field(min_length=1, max_length=20)

    @field_validator("starts_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("starts_at needs a timezone (e.g. 2026-12-31T19:00:00Z)")
        return value

    @field_validator("sectors")
    @classmethod
    def _bounded(cls, value: list[SectorPlan]) -> list[SectorPlan]:
        total = sum(s.rows * s.seats_per_row for s in value)
        if total > MAX_SEATS_PER_EVENT:
            raise ValueError(f"an event has at most {MAX_SEATS_PER_EVENT} seats (asked for {total})")
        names = [s.name for s in value]
        if len(set(names)) != len(names):
            raise ValueError("sector names must be unique")
        return value


class Event(BaseModel):
    id: int
    city_id: int
    venue: str
    title: str
    starts_at: datetime
    status: str
    min_price: Decimal | None = None


class EventDetail(Event):
    seats_total: int
    seats_available: int


class Seat(BaseModel):
    id: int
    sector: str
    row: int
    seat: int
    price: Decimal
    status: SeatStatus


class SeatMap(BaseModel):
    event_id: int
    seats: list[Seat]


class HoldCreate(_Body):
    event_id: int = Field(ge=1)
    seat_ids: list[int] = Field(min_length=1, max_length=MAX_SEATS_PER_ORDER)
    minutes: int | None = Field(default=None, ge=1, le=60)
    # Finer-grained alternative to minutes (short holds for kiosks, and tests of expiry).
    seconds: int | None = Field(default=None, ge=2, le=3600)

    @field_validator("seat_ids")
    @classmethod
    def _distinct(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError("seat_ids must be distinct")
        if any(v < 1 or v > 2**63 - 1 for v in value):
            raise ValueError("seat ids are positive 64-bit integers")
        return sorted(value)


class Hold(BaseModel):
    id: int
    event_id: int
    seat_ids: list[int]
    expires_at: datetime


class BookingCreate(_Body):
    """Either a hold to confirm, or seats to buy directly (event_id + seat_ids); the buyer is the
    session's customer."""

    hold_id: int | None = Field(default=None, ge=1)
    event_id: int | None = Field(default=None, ge=1)
    seat_ids: list[int] | None = Field(default=None, min_length=1, max_length=MAX_SEATS_PER_ORDER)

    @field_validator("seat_ids")
    @classmethod
    def _distinct(cls, value: list[int] | None) -> list[int] | None:
        if value is None:
            return value
        if len(set(value)) != len(value):
            raise ValueError("seat_ids must be distinct")
        if any(v < 1 or v > 2**63 - 1 for v in value):
            raise ValueError("seat ids are positive 64-bit integers")
        return sorted(value)


class Booking(BaseModel):
    id: int
    event_id: int
    status: Literal["confirmed", "cancelled"]
    seat_ids: list[int]
    amount: Decimal
    hold_id: int | None = None
    customer: str | None = None
    created_at: datetime
    cancelled_at: datetime | None = None


class EventStats(BaseModel):
    event_id: int
    tickets_sold: int
    revenue: Decimal


class Session(BaseModel):
    id: str
    customer: str
    expires_in: int


class Problem(BaseModel):
    """Every 4xx/5xx answer: a machine-readable code and a human reason."""

    code: str
    detail: str
