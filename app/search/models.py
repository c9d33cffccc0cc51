"""Search request, occupancy and offer types.

Every request is validated here, once, with messages a user can act on; the API turns a
``pydantic.ValidationError`` into a 422 answer listing them. All types are immutable (frozen) so
they can be used as dictionary keys and shared between concurrent searches.

"Today" for the "check-in not in the past" rule is the earliest calendar date anywhere on Earth
(UTC-12), so a traveller west of Greenwich is never told their today is in the past. Tests and
the benchmark pass their own date in the validation context: ``{"today": date(...)}``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

MIN_NIGHTS = 1
MAX_NIGHTS = 30
MAX_ROOMS = 8
MAX_ADULTS_PER_ROOM = 8
MAX_CHILDREN_PER_ROOM = 6
MAX_GUESTS = 16
MAX_CHILD_AGE = 17
MAX_HOTELS_PER_SEARCH = 500
MAX_DAYS_AHEAD = 500

# Ids become parts of cache keys joined with ':'; this alphabet keeps keys unambiguous.
ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
SupplierId = Annotated[str, Field(pattern=ID_PATTERN, description="supplier id, e.g. 'turkey-direct'")]
HotelId = Annotated[str, Field(pattern=ID_PATTERN, description="hotel id, e.g. 'h000042'")]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


def earliest_checkin(now: datetime | None = None) -> date:
    """The earliest check-in date that is not in the past for someone, somewhere (UTC-12)."""
    now = now or datetime.now(UTC)
    return (now.astimezone(UTC) - timedelta(hours=12)).date()


class Room(BaseModel):
    """One room: the number of adults and each child's age (ages matter for the price)."""

    model_config = _FROZEN

    adults: int = Field(description=f"adults in the room, 1..{MAX_ADULTS_PER_ROOM}")
    children_ages: tuple[int, ...] = Field(default=(), description=f"each child's age, 0..{MAX_CHILD_AGE}")

    @field_validator("adults")
    @classmethod
    def _adults_in_range(cls, value: int) -> int:
        if not 1 <= value <= MAX_ADULTS_PER_ROOM:
            raise ValueError(f"a room needs 1 to {MAX_ADULTS_PER_ROOM} adults (got {value})")
        return value

    @field_validator("children_ages")
    @classmethod
    def _ages_in_range(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if len(value) > MAX_CHILDREN_PER_ROOM:
            raise ValueError(f"at most {MAX_CHILDREN_PER_ROOM} children per room (got {len(value)})")
        bad = [age for age in value if not 0 <= age <= MAX_CHILD_AGE]
        if bad:
            raise ValueError(f"children's ages must be 0 to {MAX_CHILD_AGE} (got {bad})")
        return value

    @property
    def guests(self) -> int:
        return self.adults + len(self.children_ages)


class Occupancy(BaseModel):
    """Who stays: one entry per room. Room order carries no meaning (see ``cache_key``)."""

    model_config = _FROZEN

    rooms: tuple[Room, ...]

    @field_validator("rooms")
    @classmethod
    def _room_count(cls, value: tuple[Room, ...]) -> tuple[Room, ...]:
        if not 1 <= len(value) <= MAX_ROOMS:
            raise ValueError(f"a search needs 1 to {MAX_ROOMS} rooms (got {len(value)})")
        guests = sum(room.guests for room in value)
        if guests > MAX_GUESTS:
            raise ValueError(f"at most {MAX_GUESTS} guests per search (got {guests})")
        return value

    @property
    def guests(self) -> int:
        return sum(room.guests for room in self.rooms)


def check_nights(value: int) -> int:
    if not MIN_NIGHTS <= value <= MAX_NIGHTS:
        raise ValueError(f"nights must be {MIN_NIGHTS} to {MAX_NIGHTS} (got {value})")
    return value


def check_checkin(value: date, today: date) -> date:
    if value < today:
        raise ValueError(f"check-in {value.isoformat()} is in the past (today is {today.isoformat()})")
    if (value - today).days > MAX_DAYS_AHEAD:
        raise ValueError(f"check-in must be within {MAX_DAYS_AHEAD} days (got {value.isoformat()})")
    return value


def _today(info: ValidationInfo) -> date:
    context: Any = info.context
    if isinstance(context, dict) and isinstance(context.get("today"), date):
        return context["today"]
    return earliest_checkin()


class Stay(BaseModel):
    """Check-in date and length of stay. A 7-night stay is not seven 1-night stays."""

    model_config = _FROZEN

    checkin: date
    nights: int

    @field_validator("nights")
    @classmethod
    def _nights_in_range(cls, value: int) -> int:
        return check_nights(value)

    @field_validator("checkin")
    @classmethod
    def _checkin_not_past(cls, value: date, info: ValidationInfo) -> date:
        return check_checkin(value, _today(info))

    @property
    def checkout(self) -> date:
        return self.checkin + timedelta(days=self.nights)

    def depth_days(self, today: date) -> int:
        """Search depth: whole days from ``today`` until check-in (0 = same-day search)."""
        return max(0, (self.checkin - today).days)


class SearchRequest(BaseModel):
    """A user's search: hotels (ids or a city), a stay and an occupancy."""

    model_config = _FROZEN

    hotel_ids: tuple[HotelId, ...] = Field(
        default=(), description=f"hotels to search, at most {MAX_HOTELS_PER_SEARCH}; or give city"
    )
    city: Annotated[str, Field(pattern=ID_PATTERN)] | None = Field(
        default=None,
        description="a city of the hotel directory, e.g. 'antalya' (any case): searches its hotels, "
        "at most the node's directory.max_hotels of them; or give hotel_ids",
    )
    checkin: date
    nights: int
    occupancy: Occupancy

    @field_validator("hotel_ids")
    @classmethod
    def _hotel_count(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(value) > MAX_HOTELS_PER_SEARCH:
            raise ValueError(f"at most {MAX_HOTELS_PER_SEARCH} hotels per search (got {len(value)})")
        return tuple(dict.fromkeys(value))  # drop repeats, keep order

    @field_validator("nights")
    @classmethod
    def _nights_in_range(cls, value: int) -> int:
        return check_nights(value)

    @field_validator("checkin")
    @classmethod
    def _checkin_not_past(cls, value: date, info: ValidationInfo) -> date:
        return check_checkin(value, _today(info))

    @model_validator(mode="after")
    def _hotels_or_city(self) -> Self:
        if bool(self.hotel_ids) == (self.city is not None):
            given = "both" if self.hotel_ids else "neither"
            raise ValueError(f"give either hotel_ids or city, not both and not neither (got {given})")
        return self

    @property
    def stay(self) -> Stay:
        return Stay.model_construct(checkin=self.checkin, nights=self.nights)


class Offer(BaseModel):
    """One bookable rate from one supplier. Prices are integers in the currency's minor unit."""

    model_config = _FROZEN

    offer_id: str
    room: str
    board: str = Field(description="meal plan code: RO (room only), BB, HB, FB, AI")
    price_minor: int = Field(gt=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class HotelAnswer(BaseModel):
    """What one supplier said about one hotel for one stay and occupancy, and when."""

    model_config = _FROZEN

    supplier: SupplierId
    hotel_id: HotelId
    fetched_at: datetime
    offers: tuple[Offer, ...] = ()

    @property
    def available(self) -> bool:
        return bool(self.offers)

    def cheapest(self) -> Offer | None:
        return min(self.offers, key=lambda offer: offer.price_minor, default=None)


class PriceSource(StrEnum):
    CACHE = "cache"
    SUPPLIER = "supplier"


class BestOffer(BaseModel):
    """The answer for one hotel: the cheapest offer across suppliers, where it came from, its age."""

    model_config = _FROZEN

    hotel_id: HotelId
    supplier: SupplierId | None = None
    offer: Offer | None = None
    source: PriceSource | None = None
    age_seconds: float | None = None
    suppliers_unavailable: tuple[SupplierId, ...] = ()
    suppliers_skipped: tuple[SupplierId, ...] = Field(
        default=(), description="suppliers not asked: breaker open or rate limit reached"
    )


class CitySearched(BaseModel):
    """Which city a city search searched, and how many of its hotels."""

    model_config = _FROZEN

    name: str = Field(description="the city as the hotel directory names it")
    hotels_in_city: int = Field(ge=1, description="hotels the directory lists in the city")
    hotels_searched: int = Field(
        ge=1, description="hotels searched: the first of the city's, at most the node's directory.max_hotels"
    )


class SearchResponse(BaseModel):
    model_config = _FROZEN

    checkin: date
    nights: int
    city: CitySearched | None = Field(default=None, description="the city searched (city searches only)")
    hotels: tuple[BestOffer, ...]
