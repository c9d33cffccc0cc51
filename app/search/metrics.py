"""Prometheus metrics of the search, per supplier: breaker state, success rates, look-to-book.

Alert on ``search_breaker_open == 1`` (a supplier is switched off) and on
``search_supplier_success_rate_15m < 0.65``; ``search_breaker_state`` is 0 closed, 1 half-open,
2 open, and ``search_breaker_reason`` says why it last opened.

The negative cache exports, per supplier and TTL band, its current bucket's insertions, the fill
of the fullest shard's newest generation and the estimated false-positive rate of a lookup;
alert when that estimate nears ``search_negative_cache_target_fpr``.
"""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge

from app.search.batching import CoalescerStats
from app.search.breaker import PHASE_GAUGE, BreakerSnapshot, Phase, TripReason
from app.search.look_to_book import LookToBook
from app.search.negative_cache import FilterFill


class SearchMetrics:
    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        def gauge(name: str, doc: str, labels: tuple[str, ...] = ("supplier",)) -> Gauge:
            return Gauge(name, doc, list(labels), registry=registry)

        self.breaker_state = gauge("search_breaker_state", "0 closed, 1 half-open, 2 open")
        self.breaker_open = gauge("search_breaker_open", "1 while the supplier's breaker is open")
        self.breaker_level = gauge("search_breaker_level", "Consecutive re-opens (open time doubles per level)")
        self.breaker_reason = gauge(
            "search_breaker_reason", "1 for the reason the breaker last opened", ("supplier", "reason")
        )
        self.success_rate = gauge("search_supplier_success_rate", "Share of supplier calls answered, trip window")
        self.success_rate_15m = gauge("search_supplier_success_rate_15m", "15-minute moving average success rate")
        self.look_to_book = gauge("search_look_to_book_ratio", "Supplier calls per booking today")
        self.looks = gauge("search_supplier_looks_today", "Supplier search calls today (cluster-wide)")
        self.coalescer = gauge("search_coalescer", "Coalescer counters of this node", ("counter",))
        self.negative_insertions = gauge(
            "search_negative_cache_insertions", "Insertions in the current bucket", ("supplier", "band")
        )
        self.negative_fill = gauge(
            "search_negative_cache_fill_ratio", "Set bits, fullest shard's newest generation", ("supplier", "band")
        )
        self.negative_fpr = gauge(
            "search_negative_cache_estimated_fpr", "Estimated false-positive rate of a lookup", ("supplier", "band")
        )
        self.negative_target = gauge("search_negative_cache_target_fpr", "Configured false-positive rate", ())
        self.lookups = Counter(
            "search_offer_lookups", "Offer lookups by result", ["result"], registry=registry
        )  # result: cache_hit, negative_hit, supplier, skipped

    def export_breaker(self, snapshot: BreakerSnapshot) -> None:
        supplier = snapshot.supplier
        self.breaker_state.labels(supplier).set(PHASE_GAUGE[snapshot.phase])
        self.breaker_open.labels(supplier).set(int(snapshot.phase is Phase.OPEN))
        self.breaker_level.labels(supplier).set(snapshot.level)
        for reason in TripReason:
            self.breaker_reason.labels(supplier, reason.value).set(int(snapshot.reason is reason))
        if snapshot.success_rate is not None:
            self.success_rate.labels(supplier).set(snapshot.success_rate)
        if snapshot.success_rate_15m is not None:
            self.success_rate_15m.labels(supplier).set(snapshot.success_rate_15m)

    def export_look_to_book(self, value: LookToBook) -> None:
        self.looks.labels(value.supplier).set(value.looks)
        if value.ratio is not None:
            self.look_to_book.labels(value.supplier).set(value.ratio)

    def export_coalescer(self, stats: CoalescerStats) -> None:
        for name in ("requests", "shared", "batches", "items", "full_flushes"):
            self.coalescer.labels(name).set(getattr(stats, name))

    def export_negative_cache(self, fills: list[FilterFill], target_fpr: float) -> None:
        self.negative_target.set(target_fpr)
        for fill in fills:
            labels = (fill.supplier, str(fill.band))
            self.negative_insertions.labels(*labels).set(fill.insertions)
            self.negative_fill.labels(*labels).set(fill.fill_ratio)
            self.negative_fpr.labels(*labels).set(fill.estimated_fpr)
