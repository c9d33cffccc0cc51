"""Booking an offer a search showed: the supplier's answer feeds its breaker, its look-to-book
ratio and the offer cache.

A refused booking means the cached answer was wrong (the room is gone): the offer's record is
evicted from the offer store so the next search asks the supplier again instead of showing it for
the rest of its TTL. The record is found by the stay the search was for (``OfferKey``); a booking
that does not name its stay cannot evict anything.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Protocol

from app.search.cache_key import OfferKey
from app.search.offer_store import OfferStore, OfferStoreError
from app.search.redis_fallback import REDIS_DOWN

log = logging.getLogger(__name__)


class Booker(Protocol):
    async def book(self, supplier: str, offer_id: str, hotel_id: str) -> bool: ...


class BookingBreaker(Protocol):
    async def record_booking(self, ok: bool) -> None: ...


class BookingTracker(Protocol):
    async def record_booking(self, supplier: str) -> None: ...


class BookingService:
    def __init__(
        self,
        *,
        suppliers: Booker,
        breakers: Mapping[str, BookingBreaker],
        store: OfferStore,
        looks: BookingTracker,
    ) -> None:
        self._suppliers = suppliers
        self._breakers = breakers
        self._store = store
        self._looks = looks

    async def book(
        self,
        supplier: str,
        hotel_id: str,
        offer_id: str,
        key: OfferKey | None = None,
        *,
        supplier_code: str | None = None,
    ) -> bool:
        """Book ``offer_id``; True if the supplier confirmed. ``key``: the cached answer it came from;
        ``supplier_code``: the supplier's code of the hotel (default: our id)."""
        confirmed = await self._suppliers.book(supplier, offer_id, supplier_code or hotel_id)
        await self._breakers[supplier].record_booking(confirmed)
        if confirmed:
            try:
                await self._looks.record_booking(supplier)
            except REDIS_DOWN as exc:  # the booking stands; the cluster's count misses it
                log.warning("%s: could not count the booking: %s", supplier, exc)
        elif key is not None:
            await self._evict(key)
        return confirmed

    async def _evict(self, key: OfferKey) -> None:
        try:
            await self._store.evict([key])
        except OfferStoreError as exc:  # the refusal stands; the record just lives out its TTL
            log.warning("%s: could not evict the refused offer: %s", key.render(), exc)
