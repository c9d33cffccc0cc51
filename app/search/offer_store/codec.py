"""How a ``HotelAnswer`` is written: JSON bytes for Redis, native bins for Aerospike.

Aerospike bins (bin names are at most 15 characters)::

    sup     supplier id (string)
    hotel   hotel id (string)
    at      fetched at, milliseconds since the epoch, UTC (integer)
    offers  list of maps {id, room, board, price, cur}
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from app.search.models import HotelAnswer, Offer


def to_json(answer: HotelAnswer) -> bytes:
    return answer.model_dump_json().encode()


def from_json(raw: bytes | str) -> HotelAnswer:
    return HotelAnswer.model_validate_json(raw)


def to_bins(answer: HotelAnswer) -> dict[str, Any]:
    return {
        "sup": answer.supplier,
        "hotel": answer.hotel_id,
        "at": round(answer.fetched_at.timestamp() * 1000),
        "offers": [
            {"id": o.offer_id, "room": o.room, "board": o.board, "price": o.price_minor, "cur": o.currency}
            for o in answer.offers
        ],
    }


def from_bins(bins: Mapping[str, Any]) -> HotelAnswer:
    return HotelAnswer(
        supplier=bins["sup"],
        hotel_id=bins["hotel"],
        fetched_at=datetime.fromtimestamp(bins["at"] / 1000, UTC),
        offers=tuple(_offer(o) for o in bins.get("offers", ())),
    )


def _offer(bins: Mapping[str, Any]) -> Offer:
    return Offer(
        offer_id=bins["id"],
        room=bins["room"],
        board=bins["board"],
        price_minor=bins["price"],
        currency=bins["cur"],
    )
