"""One simulated supplier at run time: its settings, switchable modes, capacity window and counters."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

from app.suppliersim.capacity import SlidingWindowCapacity
from app.suppliersim.config import Modes, SupplierSpec


@dataclass(slots=True)
class SupplierStats:
    calls: int = 0  # search calls that reached the supplier (well-formed), over-limit ones included
    accepted: int = 0  # calls within capacity
    over_limit: int = 0  # calls over capacity, answered 429
    errors: int = 0  # calls answered 503 (injected error rate)
    hotels_requested: int = 0  # hotels in accepted calls
    hotels_unavailable: int = 0
    unknown_hotels: int = 0  # codes asked that are not in the supplier's catalogue
    largest_batch: int = 0
    bookings: int = 0
    booking_failures: int = 0


class SupplierRuntime:
    def __init__(self, spec: SupplierSpec, seed: int) -> None:
        self.spec = spec
        self.modes = spec.initial_modes()
        self.stats = SupplierStats()
        self.capacity = SlidingWindowCapacity(spec.capacity.calls, spec.capacity.per_seconds) if spec.capacity else None
        self._rng = random.Random(f"{seed}:{spec.name}")

    def admit(self, now: float) -> bool:
        """Count one arriving search call; False (and counted as over limit) if over capacity."""
        self.stats.calls += 1
        if self.capacity is not None and not self.capacity.admit(now):
            self.stats.over_limit += 1
            return False
        self.stats.accepted += 1
        return True

    def unknown(self, codes: list[str]) -> list[str]:
        """The codes of ``codes`` that are not in this supplier's catalogue (none without one)."""
        catalogue = self.spec.catalogue
        return [] if catalogue is None else [code for code in codes if not catalogue.sells(code)]

    def latency_seconds(self) -> float:
        jitter = self._rng.uniform(-self.modes.jitter_ms, self.modes.jitter_ms) if self.modes.jitter_ms else 0.0
        return max(0.0, self.modes.latency_ms + jitter) / 1000

    def roll_error(self) -> bool:
        failed = self.modes.error_rate > 0 and self._rng.random() < self.modes.error_rate
        if failed:
            self.stats.errors += 1
        return failed

    def set_modes(self, modes: Modes) -> None:
        self.modes = modes

    def reset(self) -> None:
        self.stats = SupplierStats()
        if self.capacity is not None:
            self.capacity.reset()

    def report(self) -> dict[str, object]:
        report: dict[str, object] = asdict(self.stats)
        report["peak_calls_in_window"] = self.capacity.peak if self.capacity else None
        report["capacity"] = self.spec.capacity.model_dump() if self.spec.capacity else None
        report["modes"] = self.modes.model_dump()
        return report
