"""Asking suppliers, on the node that owns the routing key: coalesce, limit, break, call, remember.

``SupplierFetcher.fetch(key)`` is what a cache miss turns into. Concurrent misses for the same
supplier + stay + occupancy are merged by the coalescer into one ``fetch_batch`` call, which:

0. asks the supplier's look-to-book guard (``look_to_book.LookToBookGuard``): near the contract's
   cap only a share of uncached lookups go out, at the cap none (``LookToBookThrottled``),
1. asks the supplier's circuit breaker for admission (``BreakerOpen`` if refused),
2. takes a slot of the supplier's cluster-wide rate limit, waiting for the next one while
   ``limit_wait`` allows, the batch with the most hotels first (``RateLimited`` if none in time),
3. calls the supplier once for all the batch's hotels, each under the supplier's own code for it
   (``hotel_codes``: the hotel directory's mapping; without it our hotel ids),
4. records the outcome in the breaker and the look in the look-to-book counters,
5. stores available answers in the offer store with their depth's TTL, and "unavailable"
   answers in the Bloom negative cache (not while the breaker is open: a supplier that switched
   everything off must not fill the negative cache), and when the breaker has tripped on "all
   unavailable" drops what the episode wrote before it was detected (``NegativeCache.forget``).

Each supplier has its own merge window, batch size, slot wait and timeout
(``contracts.SupplierContract``; suppliers without one get the fetcher's defaults).

Storing and counting failures never fail the search: they are logged and the answers returned.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Protocol

from redis.exceptions import RedisError

from app.search.batching import Coalescer
from app.search.breaker import BreakerSnapshot, Phase, TripReason
from app.search.breaker_window import CallOutcome
from app.search.cache_key import BatchKey, OfferKey, parse_occupancy
from app.search.contracts import SupplierContract
from app.search.look_to_book import LookToBookGuard
from app.search.models import HotelAnswer, Occupancy
from app.search.negative_cache import NegativeKey
from app.search.offer_store import OfferRecord, OfferStore, OfferStoreError
from app.search.supplier_client import SupplierCallError
from app.search.ttl import TtlTable

log = logging.getLogger(__name__)


class Breaker(Protocol):
    """What the fetcher needs of a breaker (``breaker_redis.RedisBreaker`` has it)."""

    async def allow(self) -> bool: ...
    async def record_call(self, outcome: CallOutcome, available: int = 0, unavailable: int = 0) -> None: ...
    async def snapshot(self) -> BreakerSnapshot: ...


class Limiter(Protocol):
    async def acquire(self, supplier: str, *, timeout: float, cost: int = 1, priority: int = 0) -> None: ...


class NegativeCache(Protocol):
    async def add_many(self, keys: Sequence[NegativeKey]) -> None: ...
    async def contains_many(self, keys: Sequence[NegativeKey]) -> list[bool]: ...
    async def forget(self, supplier: str, episode: str) -> None: ...


class Supplier(Protocol):
    async def search(
        self, supplier: str, hotel_ids: Sequence[str], checkin: date, nights: int, occupancy: Occupancy
    ) -> dict[str, HotelAnswer]: ...


class HotelCodes(Protocol):
    """The supplier's own code for one of our hotels (``directory.HotelDirectory`` has it)."""

    def supplier_code(self, supplier: str, hotel_id: str) -> str: ...


class LookTracker(Protocol):
    async def record_look(self, supplier: str, hotels: int) -> None: ...


class BreakerOpen(RuntimeError):
    """The supplier's breaker refused the call."""


class SupplierFetcher:
    def __init__(
        self,
        *,
        supplier: Supplier,
        breakers: Mapping[str, Breaker],
        limiter: Limiter,
        store: OfferStore,
        negative: NegativeCache,
        ttl: TtlTable,
        looks: LookTracker | None = None,
        hotel_codes: HotelCodes | None = None,
        max_wait: float = 0.02,
        max_batch: int = 50,
        limit_wait: float = 0.5,
        contracts: Mapping[str, SupplierContract] | None = None,
        look_guard: LookToBookGuard | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._supplier = supplier
        self._breakers = breakers
        self._limiter = limiter
        self._store = store
        self._negative = negative
        self._ttl = ttl
        self._looks = looks
        self._hotel_codes = hotel_codes
        self._default = SupplierContract(max_wait=max_wait, max_batch=max_batch, limit_wait=limit_wait)
        self.contracts = dict(contracts or {})
        self._guard = look_guard
        self._clock = clock
        self.coalescer: Coalescer[BatchKey, str, HotelAnswer] = Coalescer(
            self._fetch_batch,
            max_wait=max_wait,
            max_batch=max_batch,
            window=lambda batch: self.contract(batch.supplier).window,
        )

    def contract(self, supplier: str) -> SupplierContract:
        """How ``supplier`` is called (its own settings, else the defaults)."""
        return self.contracts.get(supplier, self._default)

    async def fetch(self, key: OfferKey) -> HotelAnswer:
        """The supplier's answer for one hotel, shared with concurrent requests of the same batch key."""
        return await self.coalescer.get(key.batch, key.hotel_id)

    async def _fetch_batch(self, batch: BatchKey, hotels: tuple[str, ...]) -> dict[str, HotelAnswer]:
        if self._guard is not None:  # first: a throttled lookup must not take a probe slot or a rate-limit slot
            await self._guard.admit(batch.supplier)
        breaker = self._breakers[batch.supplier]
        if not await breaker.allow():
            raise BreakerOpen(f"{batch.supplier}: circuit breaker open")
        # A slot goes first to the waiting batch that answers the most misses.
        limit_wait = self.contract(batch.supplier).limit_wait
        await self._limiter.acquire(batch.supplier, timeout=limit_wait, priority=len(hotels))
        occupancy = parse_occupancy(batch.occupancy)
        try:
            answers = await self._call(batch, hotels, occupancy)
        except SupplierCallError as exc:
            await breaker.record_call(exc.outcome)
            raise
        available = sum(1 for answer in answers.values() if answer.available)
        await breaker.record_call(CallOutcome.SUCCESS, available, len(answers) - available)
        await self._record_look(batch.supplier, len(hotels))
        snapshot = await breaker.snapshot()
        if snapshot.phase is not Phase.CLOSED and snapshot.reason is TripReason.ALL_UNAVAILABLE:
            await self._forget_episode(snapshot)
        await self._remember(batch, answers, remember_unavailable=snapshot.phase is Phase.CLOSED)
        return answers

    async def _call(self, batch: BatchKey, hotels: tuple[str, ...], occupancy: Occupancy) -> dict[str, HotelAnswer]:
        """One supplier call for ``hotels`` under the supplier's codes; answers under our ids."""
        if self._hotel_codes is None:
            return await self._supplier.search(batch.supplier, hotels, batch.checkin, batch.nights, occupancy)
        ours = {self._hotel_codes.supplier_code(batch.supplier, hotel): hotel for hotel in hotels}
        answers = await self._supplier.search(batch.supplier, tuple(ours), batch.checkin, batch.nights, occupancy)
        return {
            ours[code]: answer.model_copy(update={"hotel_id": ours[code]})
            for code, answer in answers.items()
            if code in ours
        }

    async def _record_look(self, supplier: str, hotels: int) -> None:
        if self._guard is not None:
            self._guard.looked(supplier)
        if self._looks is None:
            return
        try:
            await self._looks.record_look(supplier, hotels)
        except (RedisError, OSError) as exc:  # the answer stands; the cluster's count misses one look
            log.warning("%s: could not count the look: %s", supplier, exc)

    async def _forget_episode(self, snapshot: BreakerSnapshot) -> None:
        """The "unavailable" answers of the episode went into the filter before the trip: drop them."""
        try:
            await self._negative.forget(snapshot.supplier, episode=f"{snapshot.changed_at:.6f}")
        except RedisError as exc:
            log.warning("%s: could not drop the all-unavailable episode's negative entries: %s", snapshot.supplier, exc)

    async def _remember(
        self, batch: BatchKey, answers: Mapping[str, HotelAnswer], *, remember_unavailable: bool
    ) -> None:
        today = datetime.fromtimestamp(self._clock(), UTC).date()
        depth = max(0, (batch.checkin - today).days)
        ttl = self._ttl.for_depth(depth)
        records = [
            OfferRecord(OfferKey(batch.supplier, hotel, batch.checkin, batch.nights, batch.occupancy), answer, ttl)
            for hotel, answer in answers.items()
            if answer.available
        ]
        negatives = [
            NegativeKey(batch.supplier, hotel, batch.checkin, batch.nights, batch.occupancy)
            for hotel, answer in answers.items()
            if not answer.available
        ]
        try:
            await self._store.put_many(records)
            if remember_unavailable:
                await self._negative.add_many(negatives)
        except (OfferStoreError, RedisError) as exc:
            log.warning("%s: could not cache %d answers: %s", batch.render(), len(answers), exc)
