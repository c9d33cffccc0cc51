"""Deterministic availability and prices: a pure function of supplier, hotel, stay and occupancy.

Nothing here is random at run time: every number comes from a BLAKE2b hash of the request's
parts, so the same question always gets the same answer, whichever batch it came in and in
whatever order the rooms were listed. The shape is plausible, not real: a base nightly rate per
hotel, the supplier's markup, weekend and seasonal factors, a length-of-stay discount (a 7-night
stay costs less than seven 1-night stays), and a price per room by adults and children's ages.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

ROOM_TYPES = ("Standard", "Superior", "Family", "Suite")
BOARDS = ("RO", "BB", "HB", "AI")
BOARD_FACTOR = {"RO": 1.0, "BB": 1.12, "HB": 1.3, "AI": 1.6}
ROOM_FACTOR = {"Standard": 1.0, "Superior": 1.25, "Family": 1.4, "Suite": 2.1}

Room = tuple[int, tuple[int, ...]]  # (adults, children's ages)


def unit(*parts: object) -> float:
    """A number in [0, 1) determined by ``parts`` only."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def canonical_rooms(rooms: Sequence[Room]) -> tuple[Room, ...]:
    return tuple(sorted((adults, tuple(sorted(ages))) for adults, ages in rooms))


def occupancy_text(rooms: Sequence[Room]) -> str:
    return "+".join(f"{a}a" + "".join(f"-{age}" for age in ages) for a, ages in canonical_rooms(rooms))


@dataclass(frozen=True, slots=True)
class Question:
    """One hotel of a search call: everything the answer depends on."""

    supplier: str
    hotel: str
    checkin: date
    nights: int
    rooms: tuple[Room, ...]

    @property
    def occupancy(self) -> str:
        return occupancy_text(self.rooms)


def is_available(question: Question, *, share: float) -> bool:
    """False for about ``share`` of all (hotel, stay, occupancy) questions."""
    q = question
    return unit("avail", q.supplier, q.hotel, q.checkin, q.nights, q.occupancy) >= share


def nightly_rate(hotel: str, day: date) -> float:
    """The hotel's public rate for one night, in major units."""
    base = 40 + 360 * unit("base", hotel) ** 2
    weekend = 1.15 if day.weekday() in {4, 5} else 1.0
    season = 1 + 0.25 * math.sin(2 * math.pi * (day.timetuple().tm_yday - 80) / 365)
    return base * weekend * season


def stay_discount(nights: int) -> float:
    if nights >= 14:
        return 0.82
    if nights >= 7:
        return 0.88
    if nights >= 3:
        return 0.95
    return 1.0


def room_factor(adults: int, ages: Sequence[int]) -> float:
    factor = 1.0 + 0.35 * (adults - 1)
    for age in ages:
        factor += 0.0 if age < 2 else 0.2 if age < 12 else 0.35
    return factor


@dataclass(frozen=True, slots=True)
class PricedOffer:
    offer_id: str
    room: str
    board: str
    price_minor: int
    currency: str


def offers_for(question: Question, *, markup: float, currency: str) -> list[PricedOffer]:
    """One to four room/board combinations with their total price for the whole stay and all rooms."""
    q = question
    nights = range(q.nights)
    stay = sum(nightly_rate(q.hotel, q.checkin + timedelta(days=n)) for n in nights) * stay_discount(q.nights)
    people = sum(room_factor(adults, ages) for adults, ages in canonical_rooms(q.rooms))
    supplier_factor = markup * (0.92 + 0.16 * unit("markup", q.supplier, q.hotel))
    count = 1 + int(unit("count", q.supplier, q.hotel) * 4)
    offers = []
    for index in range(count):
        room = ROOM_TYPES[int(unit("room", q.supplier, q.hotel, index) * len(ROOM_TYPES))]
        board = BOARDS[int(unit("board", q.supplier, q.hotel, index) * len(BOARDS))]
        total = stay * people * supplier_factor * ROOM_FACTOR[room] * BOARD_FACTOR[board]
        digest = hashlib.blake2b(
            f"{q.supplier}|{q.hotel}|{q.checkin}|{q.nights}|{q.occupancy}|{index}".encode(), digest_size=10
        ).hexdigest()
        offers.append(PricedOffer(f"{q.supplier}.{digest}", room, board, max(1, round(total * 100)), currency))
    return offers
