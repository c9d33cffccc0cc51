"""A user's search: the cheapest offer per hotel across suppliers, asking suppliers only on a miss.

For every (supplier, hotel) of the request, the supplier selling the hotel (``sellers``: the hotel
directory's mapping; a hotel it cannot say about is asked of every supplier), in this order:

1. offer store (one batch read for all of them): a hit is answered with its age;
2. Bloom negative cache (one round trip for all misses): "unavailable" is believed;
3. otherwise ``fetch(key)``: on the node owning the key's routing key, ``SupplierFetcher.fetch``
   (coalesced, rate-limited, behind the breaker); the wiring decides local or remote.

A supplier that cannot be asked now (breaker open, rate limit reached, call failed) is listed in
``suppliers_skipped`` for that hotel; the search still answers with what the others said.

A supplier whose offers do not book (``offers_hidden``: its breaker tripped on booking failures)
is not answered from the offer store: its cached offers are treated as misses, which its breaker
then refuses (skipped) or admits as a half-open probe (a fresh answer).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime

from redis.exceptions import RedisError

from app.search.cache_key import OfferKey, canonical_occupancy
from app.search.fetcher import NegativeCache
from app.search.metrics import SearchMetrics
from app.search.models import BestOffer, HotelAnswer, PriceSource, SearchRequest, SearchResponse
from app.search.negative_cache import NegativeKey
from app.search.offer_store import OfferStore, OfferStoreError

log = logging.getLogger(__name__)

Fetch = Callable[[OfferKey], Awaitable[HotelAnswer]]
OffersHidden = Callable[[Sequence[str]], Awaitable[set[str]]]
# A hotel's sellers: supplier -> its code for the hotel, or None (unknown: every supplier).
Sellers = Callable[[str], Mapping[str, str] | None]


class SearchService:
    def __init__(
        self,
        *,
        suppliers: Sequence[str],
        store: OfferStore,
        negative: NegativeCache,
        fetch: Fetch,
        metrics: SearchMetrics | None = None,
        offers_hidden: OffersHidden | None = None,
        sellers: Sellers | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.suppliers = tuple(suppliers)
        self._sellers = sellers
        self._offers_hidden = offers_hidden
        self._metrics = metrics
        self._store = store
        self._negative = negative
        self._fetch = fetch
        self._clock = clock

    async def search(self, request: SearchRequest) -> SearchResponse:
        if not request.hotel_ids:
            raise ValueError("SearchService searches hotel ids: resolve a city first (SearchRuntime.search)")
        now = datetime.fromtimestamp(self._clock(), UTC)
        occupancy = canonical_occupancy(request.occupancy)
        keys = [
            OfferKey(supplier, hotel, request.checkin, request.nights, occupancy)
            for hotel in request.hotel_ids
            for supplier in self._selling(hotel)
        ]
        hidden = await self._hidden()
        cached = [
            None if key.supplier in hidden else answer
            for key, answer in zip(keys, await self._cached(keys), strict=True)
        ]
        misses = [key for key, answer in zip(keys, cached, strict=True) if answer is None]
        negative = await self._known_unavailable(
            [NegativeKey(k.supplier, k.hotel_id, k.checkin, k.nights, k.occupancy) for k in misses]
        )
        to_fetch = [key for key, unavailable in zip(misses, negative, strict=True) if not unavailable]
        fetched = await asyncio.gather(*(self._fetch(key) for key in to_fetch), return_exceptions=True)

        answers: dict[OfferKey, tuple[HotelAnswer, PriceSource]] = {
            key: (answer, PriceSource.CACHE) for key, answer in zip(keys, cached, strict=True) if answer
        }
        skipped: set[OfferKey] = set()
        for key, result in zip(to_fetch, fetched, strict=True):
            if isinstance(result, HotelAnswer):
                answers[key] = (result, PriceSource.SUPPLIER)
            elif isinstance(result, Exception):
                log.info("%s: not asked or no answer: %s", key.render(), result)
                skipped.add(key)
            else:
                raise result  # CancelledError and other BaseExceptions are not ours to swallow
        self._count(
            cache_hit=len(keys) - len(misses),
            negative_hit=len(misses) - len(to_fetch),
            supplier=len(to_fetch) - len(skipped),
            skipped=len(skipped),
        )
        hotels = tuple(self._best(hotel, keys, answers, skipped, now) for hotel in request.hotel_ids)
        return SearchResponse(checkin=request.checkin, nights=request.nights, hotels=hotels)

    def _best(
        self,
        hotel: str,
        keys: Sequence[OfferKey],
        answers: dict[OfferKey, tuple[HotelAnswer, PriceSource]],
        skipped: set[OfferKey],
        now: datetime,
    ) -> BestOffer:
        mine = [key for key in keys if key.hotel_id == hotel]
        priced = [
            (offer, answer, source)
            for key in mine
            if key in answers
            for answer, source in [answers[key]]
            if (offer := answer.cheapest()) is not None
        ]
        unavailable = tuple(
            k.supplier for k in mine if k not in skipped and not (k in answers and answers[k][0].available)
        )
        skipped_suppliers = tuple(k.supplier for k in mine if k in skipped)
        if not priced:
            return BestOffer(hotel_id=hotel, suppliers_unavailable=unavailable, suppliers_skipped=skipped_suppliers)
        offer, answer, source = min(priced, key=lambda item: item[0].price_minor)
        return BestOffer(
            hotel_id=hotel,
            supplier=answer.supplier,
            offer=offer,
            source=source,
            age_seconds=max(0.0, (now - answer.fetched_at).total_seconds()),
            suppliers_unavailable=unavailable,
            suppliers_skipped=skipped_suppliers,
        )

    def _selling(self, hotel: str) -> tuple[str, ...]:
        """The searched suppliers that sell ``hotel`` (all of them when the directory cannot say)."""
        sellers = None if self._sellers is None else self._sellers(hotel)
        return self.suppliers if sellers is None else tuple(s for s in self.suppliers if s in sellers)

    def _count(self, **results: int) -> None:
        if self._metrics is not None:
            for result, count in results.items():
                self._metrics.lookups.labels(result).inc(count)

    async def _cached(self, keys: Sequence[OfferKey]) -> list[HotelAnswer | None]:
        try:
            return await self._store.get_many(keys)
        except OfferStoreError as exc:
            log.warning("offer store unavailable, treating %d keys as misses: %s", len(keys), exc)
            return [None] * len(keys)

    async def _hidden(self) -> set[str]:
        if self._offers_hidden is None:
            return set()
        try:
            return await self._offers_hidden(self.suppliers)
        except RedisError as exc:  # breaker states unreadable: their calls are refused anyway
            log.warning("breaker states unavailable, serving cached offers: %s", exc)
            return set()

    async def _known_unavailable(self, keys: Sequence[NegativeKey]) -> list[bool]:
        try:
            return await self._negative.contains_many(keys)
        except RedisError as exc:  # the negative cache is an optimisation, never a failure
            log.warning("negative cache unavailable, asking suppliers: %s", exc)
            return [False] * len(keys)
