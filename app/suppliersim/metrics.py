"""Prometheus metrics of the simulator, in a registry of its own (one per app instance)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class SimulatorMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.calls = Counter(
            "suppliersim_calls", "Search calls by outcome", ["supplier", "outcome"], registry=self.registry
        )
        self.over_limit = Counter(
            "suppliersim_over_limit_calls",
            "Search calls over capacity (429)",
            ["supplier"],
            registry=self.registry,
        )
        self.hotels = Counter(
            "suppliersim_hotels_requested",
            "Hotels asked in accepted calls",
            ["supplier"],
            registry=self.registry,
        )
        self.unknown_hotels = Counter(
            "suppliersim_unknown_hotels",
            "Hotel codes asked that are not in the supplier's catalogue",
            ["supplier"],
            registry=self.registry,
        )
        self.bookings = Counter(
            "suppliersim_bookings",
            "Booking attempts by result",
            ["supplier", "result"],
            registry=self.registry,
        )
        self.mode = Gauge(
            "suppliersim_mode", "1 when a mode is switched on", ["supplier", "mode"], registry=self.registry
        )
        self.error_rate = Gauge(
            "suppliersim_error_rate",
            "Configured share of failing calls",
            ["supplier"],
            registry=self.registry,
        )
