"""Keys: the offer cache key, the routing key and the batch key.

Offer cache key = supplier + hotel + check-in + nights + canonical occupancy::

    offer:v1:<supplier>:<hotel>:<check-in YYYY-MM-DD>:<nights>n:<occupancy>

- Nights are part of the key: a 7-night stay is priced as a whole (length-of-stay discounts,
  minimum stays), it is never assembled from seven 1-night answers.
- Canonical occupancy: each room is written ``<adults>a`` followed by ``-<age>`` for each child in
  ascending age order, rooms are sorted and joined with ``+``. Room order and the order children
  are listed in carry no meaning; the ages themselves do (a 3-year-old and a 15-year-old are
  priced differently), and so does the split into rooms ("2 adults in 1 room" is not "1 + 1").
  Example: rooms [2 adults with children 9 and 4, 1 adult] -> ``1a+2a-4-9``.

Routing key = supplier + stay: every search node routes on it (rendezvous hashing), so that
searches for the same supplier and dates meet on one node, where the batch key (routing key +
occupancy) merges them into one supplier call.
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from app.search.models import Occupancy, Room

KEY_VERSION = "v1"


def canonical_room(room: Room) -> str:
    """``<adults>a`` then ``-<age>`` per child, ages ascending: ``2a-4-9``."""
    return f"{room.adults}a" + "".join(f"-{age}" for age in sorted(room.children_ages))


def canonical_occupancy(occupancy: Occupancy) -> str:
    """The occupancy as a string equal for every equivalent listing of the same rooms."""
    return "+".join(sorted(canonical_room(room) for room in occupancy.rooms))


def parse_occupancy(text: str) -> Occupancy:
    """The inverse of ``canonical_occupancy``: ``"1a+2a-4-9"`` -> rooms [1 adult], [2 adults, 4, 9]."""
    rooms = []
    for room in text.split("+"):
        adults, *ages = room.split("-")
        if not adults.endswith("a"):
            raise ValueError(f"not a canonical occupancy: {text!r}")
        rooms.append(Room(adults=int(adults[:-1]), children_ages=tuple(int(age) for age in ages)))
    return Occupancy(rooms=tuple(rooms))


class StayKey(NamedTuple):
    """Supplier + check-in + nights: what a supplier batch call and the routing have in common."""

    supplier: str
    checkin: date
    nights: int

    def render(self) -> str:
        return f"{self.supplier}:{self.checkin.isoformat()}:{self.nights}n"


class BatchKey(NamedTuple):
    """Stay key + canonical occupancy: the hotels of one supplier call share all of it."""

    supplier: str
    checkin: date
    nights: int
    occupancy: str

    @property
    def stay(self) -> StayKey:
        return StayKey(self.supplier, self.checkin, self.nights)

    def render(self) -> str:
        return f"{self.stay.render()}:{self.occupancy}"


class OfferKey(NamedTuple):
    """The offer cache key of one supplier's answer for one hotel, stay and occupancy."""

    supplier: str
    hotel_id: str
    checkin: date
    nights: int
    occupancy: str

    @classmethod
    def of(cls, supplier: str, hotel_id: str, checkin: date, nights: int, occupancy: Occupancy) -> OfferKey:
        return cls(supplier, hotel_id, checkin, nights, canonical_occupancy(occupancy))

    @property
    def batch(self) -> BatchKey:
        return BatchKey(self.supplier, self.checkin, self.nights, self.occupancy)

    def render(self) -> str:
        return (
            f"offer:{KEY_VERSION}:{self.supplier}:{self.hotel_id}:"
            f"{self.checkin.isoformat()}:{self.nights}n:{self.occupancy}"
        )


def offer_key(supplier: str, hotel_id: str, checkin: date, nights: int, occupancy: Occupancy) -> str:
    """The rendered offer cache key (see the module docstring for its shape)."""
    return OfferKey.of(supplier, hotel_id, checkin, nights, occupancy).render()


def routing_key(supplier: str, checkin: date, nights: int) -> str:
    """The key search nodes are chosen by: supplier + dates, never the hotel."""
    return StayKey(supplier, checkin, nights).render()
