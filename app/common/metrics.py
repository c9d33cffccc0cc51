"""Prometheus metrics of the app: HTTP traffic, database pools, cache, bookings and business.

Routes are labelled by their template (/v1/events/{event_id}), never the raw path, so the
number of series stays bounded whatever the clients send.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "roadie_http_requests_total",
    "HTTP requests by route, method and status.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "roadie_http_request_duration_seconds",
    "HTTP request latency by route and method.",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5),
    registry=REGISTRY,
)
HTTP_ERRORS = Counter(
    "roadie_http_errors_total",
    "HTTP 4xx and 5xx answers by route and status.",
    ["route", "status"],
    registry=REGISTRY,
)
CACHE = Counter(
    "roadie_cache_requests_total",
    "Cache lookups by kind and result (hit, miss, error).",
    ["kind", "result"],
    registry=REGISTRY,
)
BOOKINGS = Counter(
    "roadie_bookings_total",
    "Booking attempts by outcome (succeeded, conflicted, replayed, rejected, failed).",
    ["outcome"],
    registry=REGISTRY,
)
BOOKING_RERUNS = Counter(
    "roadie_booking_reruns_total",
    "Booking attempts the app re-ran after a transient database failure, by failure "
    "(no connection, connection lost, read-only, admin shutdown, ...).",
    ["reason"],
    registry=REGISTRY,
)
BOOKINGS_RETRIED = Counter(
    "roadie_bookings_retried_total",
    "Bookings that needed at least one re-run, by how they ended: succeeded (a booking), "
    "refused (a client error such as 409), gave_up (deadline passed: 503), failed (another error).",
    ["result"],
    registry=REGISTRY,
)
TICKETS_SOLD = Counter(
    "roadie_tickets_sold_total", "Tickets sold (cancellations not subtracted).", ["shard"], registry=REGISTRY
)
REVENUE = Counter(
    "roadie_revenue_total", "Revenue of confirmed bookings, in the price currency.", ["shard"], registry=REGISTRY
)
OUTBOX_PUBLISHED = Counter(
    "roadie_outbox_published_total", "Outbox rows published to RabbitMQ.", ["shard"], registry=REGISTRY
)
EVENTS_CONSUMED = Counter(
    "roadie_events_consumed_total",
    "Booking events consumed, by result (applied, duplicate).",
    ["result"],
    registry=REGISTRY,
)


class PoolCollector(Collector):
    """Database pool gauges, read from the pools at scrape time."""

    def __init__(self, stats: Callable[[], dict[str, dict[str, int]]]) -> None:
        self._stats = stats

    def collect(self) -> Iterable[GaugeMetricFamily]:
        size = GaugeMetricFamily("roadie_db_pool_connections", "Open connections of a pool.", labels=["pool"])
        idle = GaugeMetricFamily("roadie_db_pool_idle", "Idle connections of a pool.", labels=["pool"])
        waiting = GaugeMetricFamily("roadie_db_pool_waiting", "Requests waiting for a connection.", labels=["pool"])
        for pool, stats in self._stats().items():
            size.add_metric([pool], stats.get("pool_size", 0))
            idle.add_metric([pool], stats.get("pool_available", 0))
            waiting.add_metric([pool], stats.get("requests_waiting", 0))
        return [size, idle, waiting]
