"""What the simulated suppliers do, without HTTP: search, book, switch modes, report."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from app.suppliersim.config import Modes, SimulatorConfig
from app.suppliersim.metrics import SimulatorMetrics
from app.suppliersim.pricing import PricedOffer, Question, Room, is_available, offers_for
from app.suppliersim.state import SupplierRuntime

Sleep = Callable[[float], Awaitable[None]]


class SimulatorError(Exception):
    status = 500

    def __init__(self, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}


class UnknownSupplier(SimulatorError):
    status = 404


class BatchTooLarge(SimulatorError):
    status = 400


class OverCapacity(SimulatorError):
    status = 429


class InjectedError(SimulatorError):
    status = 503


@dataclass(frozen=True, slots=True)
class HotelResult:
    hotel_id: str
    available: bool
    offers: list[PricedOffer]


@dataclass(frozen=True, slots=True)
class BookingResult:
    confirmed: bool
    booking_id: str | None


class Simulator:
    def __init__(
        self,
        config: SimulatorConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.suppliers = {spec.name: SupplierRuntime(spec, config.seed) for spec in config.suppliers}
        self.metrics = SimulatorMetrics()
        self._clock = clock
        self._sleep = sleep
        for sim in self.suppliers.values():
            self._export_modes(sim)

    def runtime(self, name: str) -> SupplierRuntime:
        try:
            return self.suppliers[name]
        except KeyError:
            known = ", ".join(sorted(self.suppliers))
            raise UnknownSupplier(f"unknown supplier {name!r}; known: {known}") from None

    async def search(
        self, supplier: str, hotel_ids: list[str], checkin: date, nights: int, rooms: tuple[Room, ...]
    ) -> list[HotelResult]:
        sim = self.runtime(supplier)
        hotels = list(dict.fromkeys(hotel_ids))
        if len(hotels) > sim.spec.max_batch_hotels:
            raise BatchTooLarge(f"{supplier} takes at most {sim.spec.max_batch_hotels} hotels per call")
        now = self._clock()
        if not sim.admit(now):
            self.metrics.over_limit.labels(supplier).inc()
            self.metrics.calls.labels(supplier, "over_limit").inc()
            assert sim.capacity is not None
            retry = max(1, round(sim.capacity.retry_after(now) + 0.5))
            limit = f"{sim.capacity.calls} calls per {sim.capacity.per_seconds:g}s"
            raise OverCapacity(f"{supplier}: over capacity ({limit})", {"Retry-After": str(retry)})
        await self._sleep(sim.latency_seconds())
        if sim.roll_error():
            self.metrics.calls.labels(supplier, "error").inc()
            raise InjectedError(f"{supplier}: injected error")
        self.metrics.calls.labels(supplier, "ok").inc()
        self.metrics.hotels.labels(supplier).inc(len(hotels))
        unknown = sim.unknown(hotels)
        sim.stats.unknown_hotels += len(unknown)
        self.metrics.unknown_hotels.labels(supplier).inc(len(unknown))
        sim.stats.hotels_requested += len(hotels)
        sim.stats.largest_batch = max(sim.stats.largest_batch, len(hotels))
        results = []
        for hotel in hotels:
            question = Question(supplier, hotel, checkin, nights, rooms)
            available = not sim.modes.all_unavailable and is_available(question, share=sim.spec.unavailable_share)
            offers = offers_for(question, markup=sim.spec.markup, currency=sim.spec.currency) if available else []
            sim.stats.hotels_unavailable += not available
            results.append(HotelResult(hotel, available, offers))
        return results

    async def book(self, supplier: str, offer_id: str) -> BookingResult:
        sim = self.runtime(supplier)
        await self._sleep(sim.latency_seconds())
        sim.stats.bookings += 1
        if sim.modes.booking_fails:
            sim.stats.booking_failures += 1
            self.metrics.bookings.labels(supplier, "failed").inc()
            return BookingResult(False, None)
        self.metrics.bookings.labels(supplier, "confirmed").inc()
        digest = hashlib.blake2b(f"{offer_id}|{sim.stats.bookings}".encode(), digest_size=8).hexdigest()
        return BookingResult(True, f"{supplier}.{digest}")

    def set_modes(self, supplier: str, changes: dict[str, Any]) -> Modes:
        sim = self.runtime(supplier)
        sim.set_modes(sim.modes.model_copy(update=changes))
        self._export_modes(sim)
        return sim.modes

    def reset(self) -> None:
        for sim in self.suppliers.values():
            sim.reset()

    def report(self) -> dict[str, Any]:
        return {"suppliers": {name: sim.report() for name, sim in self.suppliers.items()}}

    def _export_modes(self, sim: SupplierRuntime) -> None:
        self.metrics.mode.labels(sim.spec.name, "all_unavailable").set(int(sim.modes.all_unavailable))
        self.metrics.mode.labels(sim.spec.name, "booking_fails").set(int(sim.modes.booking_fails))
        self.metrics.error_rate.labels(sim.spec.name).set(sim.modes.error_rate)
