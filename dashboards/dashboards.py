"""roadie's Grafana dashboards as code (grafana-foundation-sdk, Grafana 11 types).

App panels query the metrics the app exports (app/common/metrics.py: roadie_http_*, roadie_db_pool_*,
roadie_cache_requests_total, roadie_bookings_total, ...; app/search/metrics.py: search_*) or the
SLO recording rules built on them (alerts/rules/recording.yml).

Run ``python dashboards/dashboards.py`` to regenerate the JSON files beside this source;
``--check`` exits non-zero when a committed JSON file differs from what this source builds
(the unit tests run it). Every panel queries the Prometheus datasource provisioned by the
grafana role (uid ``prometheus``); the lab runs every panel's query against its Prometheus.
"""

import json
import sys
from collections.abc import Callable
from pathlib import Path

from grafana_foundation_sdk.builders import dashboard, prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef

HERE = Path(__file__).resolve().parent
DATASOURCE = DataSourceRef(type_val="prometheus", uid="prometheus")
Query = tuple[str, str]  # (PromQL, legend)


def _queries(panel: timeseries.Panel | stat.Panel, queries: list[Query]) -> None:
    for index, (expr, legend) in enumerate(queries):
        panel.with_target(
            prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(chr(ord("A") + index)).datasource(DATASOURCE)
        )


def graph(title: str, queries: list[Query], unit: str = "short", description: str = "") -> timeseries.Panel:
    panel = (
        timeseries.Panel().title(title).description(description).unit(unit).datasource(DATASOURCE).height(8).span(12)
    )
    _queries(panel, queries)
    return panel


def single(title: str, queries: list[Query], unit: str = "short", description: str = "") -> stat.Panel:
    panel = stat.Panel().title(title).description(description).unit(unit).datasource(DATASOURCE).height(4).span(6)
    _queries(panel, queries)
    return panel


def _board(uid: str, title: str, description: str) -> dashboard.Dashboard:
    return (
        dashboard.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["roadie"])
        .refresh("30s")
        .time("now-1h", "now")
        .timezone("utc")
    )


def application_health() -> dashboard.Dashboard:
    return (
        _board("roadie-app", "roadie / Application health", "Golden signals of the app (SLO: 99.9 %, p95 < 200 ms).")
        .with_row(dashboard.Row("Traffic and errors"))
        .with_panel(single("Requests per second", [("slo:http_requests:rate5m", "req/s")], "reqps"))
        .with_panel(single("Error ratio (5xx)", [("slo:http_error_ratio:rate5m", "5xx")], "percentunit"))
        .with_panel(single("p95 latency", [("slo:http_latency_seconds:p95_5m", "p95")], "s"))
        .with_panel(single("App nodes up", [('sum(up{job="app"})', "up")]))
        .with_panel(
            graph(
                "Request rate by route",
                [('sum by (route) (rate(roadie_http_requests_total{job="app"}[5m]))', "{{route}}")],
                "reqps",
            )
        )
        .with_panel(
            graph(
                "Error rate (4xx, 5xx)",
                [
                    (
                        '(sum(rate(roadie_http_requests_total{job="app", status=~"5.."}[5m])) or vector(0))'
                        ' / sum(rate(roadie_http_requests_total{job="app"}[5m]))',
                        "5xx",
                    ),
                    (
                        '(sum(rate(roadie_http_requests_total{job="app", status=~"4.."}[5m])) or vector(0))'
                        ' / sum(rate(roadie_http_requests_total{job="app"}[5m]))',
                        "4xx",
                    ),
                ],
                "percentunit",
            )
        )
        .with_row(dashboard.Row("Latency"))
        .with_panel(
            graph(
                "Latency percentiles",
                [
                    ("slo:http_latency_seconds:p50_5m", "p50"),
                    ("slo:http_latency_seconds:p95_5m", "p95"),
                    ("slo:http_latency_seconds:p99_5m", "p99"),
                ],
                "s",
                "Targets: p95 < 200 ms, p99 < 500 ms; critical: p95 > 1 s.",
            )
        )
        .with_panel(graph("p95 latency by route", [("route:http_latency_seconds:p95_5m", "{{route}}")], "s"))
        .with_row(dashboard.Row("Users and edge"))
        .with_panel(
            graph(
                "Sessions created per minute",
                [
                    (
                        'sum(rate(roadie_http_requests_total{job="app", route="/v1/sessions", method="POST",'
                        ' status="201"}[5m])) * 60',
                        "sessions/min",
                    )
                ],
                description="No active-session gauge exists; new sessions (POST /v1/sessions) show users arriving.",
            )
        )
        .with_panel(
            graph(
                "Load balancer probe",
                [
                    ('probe_success{job="blackbox_lb"}', "success"),
                    ('probe_duration_seconds{job="blackbox_lb"}', "duration"),
                ],
            )
        )
        .with_panel(
            graph(
                "Machine CPU busy and memory available",
                [
                    ('1 - avg by (host) (rate(node_cpu_seconds_total{mode="idle"}[5m]))', "CPU busy {{host}}"),
                    ("node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes", "memory available {{host}}"),
                ],
                "percentunit",
            )
        )
        .build()
    )


def database() -> dashboard.Dashboard:
    return (
        _board("roadie-database", "roadie / Database", "Patroni, PostgreSQL, HAProxy and etcd.")
        .with_row(dashboard.Row("Cluster"))
        .with_panel(graph("Patroni roles (1 = primary)", [("patroni_primary", "{{name}}")]))
        .with_panel(
            graph(
                "Replication lag (bytes)",
                [
                    (
                        "max by (scope) (patroni_xlog_location) - on (scope) group_right () "
                        "(patroni_xlog_replayed_location and on (instance) patroni_replica == 1)",
                        "{{name}}",
                    )
                ],
                "bytes",
            )
        )
        .with_panel(graph("Synchronous standby", [("patroni_sync_standby", "{{name}}")]))
        .with_panel(
            graph(
                "HAProxy write target (1 = up)",
                [('haproxy_server_status{proxy="pg_primary", state="UP"}', "{{server}}")],
            )
        )
        .with_row(dashboard.Row("Queries"))
        .with_panel(
            graph(
                "Query time: longest active transaction",
                [('max by (host) (pg_stat_activity_max_tx_duration{state="active"})', "{{host}}")],
                "s",
                "Target < 50 ms, critical > 500 ms.",
            )
        )
        .with_panel(
            graph(
                "Slow queries (active > 500 ms)",
                [
                    (
                        'count by (host) (pg_stat_activity_max_tx_duration{state="active"} > 0.5) or on () vector(0)',
                        "{{host}}",
                    )
                ],
            )
        )
        .with_panel(
            graph(
                "Connections by state",
                [('sum by (host, state) (pg_stat_activity_count{state!~"disabled|fastpath.*"})', "{{host}} {{state}}")],
            )
        )
        .with_panel(
            graph(
                "App connection pool",
                [
                    ('sum by (pool) (roadie_db_pool_connections{job="app"})', "{{pool}} open"),
                    ('sum by (pool) (roadie_db_pool_idle{job="app"})', "{{pool}} idle"),
                    ('sum by (pool) (roadie_db_pool_waiting{job="app"})', "{{pool}} waiting"),
                ],
                description="Summed over the app nodes; 'waiting' are requests queued for a connection.",
            )
        )
        .with_panel(
            graph("Deadlocks", [("sum by (datname) (increase(pg_stat_database_deadlocks[5m]))", "{{datname}}")])
        )
        .with_panel(
            graph(
                "Transactions per second",
                [('sum by (datname) (rate(pg_stat_database_xact_commit{datname!~"template.*"}[5m]))', "{{datname}}")],
                "ops",
            )
        )
        .with_row(dashboard.Row("etcd"))
        .with_panel(graph("etcd has leader", [("etcd_server_has_leader", "{{host}}")]))
        .with_panel(graph("etcd leader changes", [("increase(etcd_server_leader_changes_seen_total[1h])", "{{host}}")]))
        .build()
    )


def business() -> dashboard.Dashboard:
    return (
        _board("roadie-business", "roadie / Business", "Tickets, revenue and bookings.")
        .with_panel(
            single(
                "Tickets sold per minute", [('sum(rate(roadie_tickets_sold_total{job="app"}[5m])) * 60', "tickets/min")]
            )
        )
        .with_panel(
            single("Revenue per hour", [('sum(rate(roadie_revenue_total{job="app"}[1h])) * 3600', "revenue/h")])
        )
        .with_panel(single("Booking success rate", [("slo:booking_success_ratio:rate15m", "success")], "percentunit"))
        .with_panel(
            single(
                "Conversion (bookings per search)",
                [
                    (
                        'sum(rate(roadie_bookings_total{job="app", outcome="succeeded"}[1h]))'
                        ' / sum(rate(roadie_http_requests_total{job="app", route="/v1/search"}[1h]))',
                        "conversion",
                    )
                ],
                "percentunit",
            )
        )
        .with_panel(
            graph(
                "Tickets sold (real time)",
                [('sum(rate(roadie_tickets_sold_total{job="app"}[1m])) * 60', "tickets/min")],
            )
        )
        .with_panel(
            graph(
                "Bookings by outcome",
                [('sum by (outcome) (rate(roadie_bookings_total{job="app"}[5m]))', "{{outcome}}")],
                "ops",
                "Every outcome is an attempt: succeeded, conflicted, replayed, rejected, failed.",
            )
        )
        .with_panel(graph("Revenue", [('sum(increase(roadie_revenue_total{job="app"}[5m]))', "revenue / 5 min")]))
        .build()
    )


def supplier_search() -> dashboard.Dashboard:
    return (
        _board(
            "roadie-suppliers",
            "roadie / Supplier search",
            "Per-supplier health, breakers and calls saved (design 003).",
        )
        .with_panel(
            graph(
                "Success rate per supplier (15-minute average)",
                [('avg by (supplier) (search_supplier_success_rate_15m{job="app"})', "{{supplier}}")],
                "percentunit",
                "Below 65 %: the supplier is switched off for 2 hours.",
            )
        )
        .with_panel(graph("Breaker open", [('max by (supplier) (search_breaker_open{job="app"})', "{{supplier}}")]))
        .with_panel(
            graph(
                "Breaker state and level",
                [
                    ('max by (supplier) (search_breaker_state{job="app"})', "{{supplier}} state"),
                    ('max by (supplier) (search_breaker_level{job="app"})', "{{supplier}} level"),
                ],
                description="State 0 closed, 1 half-open, 2 open; the level counts re-opens (open time doubles).",
            )
        )
        .with_panel(
            graph(
                "Breaker trip reason",
                [('max by (supplier, reason) (search_breaker_reason{job="app"})', "{{supplier}} {{reason}}")],
                description="1 for the reason the breaker last opened (error_rate, timeouts, all_unavailable, "
                "booking_failures).",
            )
        )
        .with_panel(
            graph(
                "Search latency (p95)", [('route:http_latency_seconds:p95_5m{route=~".*search.*"}', "{{route}}")], "s"
            )
        )
        .with_panel(
            graph(
                "Calls saved by cache and batching",
                [
                    ('sum by (result) (rate(search_offer_lookups_total{job="app"}[5m]))', "lookup {{result}}"),
                    ('sum(search_coalescer{job="app", counter="shared"})', "coalesced (shared)"),
                ],
            )
        )
        .with_panel(
            graph(
                "Supplier calls today and look-to-book",
                [
                    ('max by (supplier) (search_supplier_looks_today{job="app"})', "{{supplier}} calls today"),
                    ('max by (supplier) (search_look_to_book_ratio{job="app"})', "{{supplier}} calls per booking"),
                ],
                description="Cluster-wide counts, the same on every node (hence max).",
            )
        )
        .with_panel(
            graph(
                "Simulator: calls by outcome",
                [("sum by (supplier, outcome) (rate(suppliersim_calls_total[5m]))", "{{supplier}} {{outcome}}")],
                "ops",
            )
        )
        .build()
    )


def cache_and_queue() -> dashboard.Dashboard:
    return (
        _board("roadie-cache-queue", "roadie / Cache and queue", "Redis, Sentinel, the cache hit rate and RabbitMQ.")
        .with_row(dashboard.Row("Cache"))
        .with_panel(
            graph(
                "Hit rate per cache",
                [("slo:cache_hit_ratio:rate5m", "{{kind}}")],
                "percentunit",
                "Redis caches (listing, event, seats). Target > 85 %, critical < 60 %.",
            )
        )
        .with_panel(graph("Redis memory used", [('redis_memory_used_bytes{job="redis"}', "{{host}}")], "bytes"))
        .with_panel(
            graph(
                "Redis commands per second",
                [('rate(redis_commands_processed_total{job="redis"}[5m])', "{{host}}")],
                "ops",
            )
        )
        .with_panel(graph("Redis role (1 = master)", [('redis_instance_info{job="redis", role="master"}', "{{host}}")]))
        .with_panel(graph("Replica link up", [('redis_master_link_up{job="redis"}', "{{host}}")]))
        .with_panel(graph("Sentinel quorum OK", [("redis_sentinel_master_ckquorum_status", "{{host}}")]))
        .with_row(dashboard.Row("Queue"))
        .with_panel(graph("Ready messages", [("sum(rabbitmq_queue_messages_ready)", "ready")]))
        .with_panel(graph("Consumers", [("sum(rabbitmq_queue_consumers)", "consumers")]))
        .with_panel(
            graph(
                "Cache lookups by kind and result",
                [('sum by (kind, result) (rate(roadie_cache_requests_total{job="app"}[5m]))', "{{kind}} {{result}}")],
                "ops",
            )
        )
        .with_panel(
            graph(
                "Booking events: outbox published and consumed",
                [
                    (
                        "sum by (shard) (rate(roadie_outbox_published_total[5m]))",
                        "published shard {{shard}}",
                    ),
                    ("sum by (result) (rate(roadie_events_consumed_total[5m]))", "consumed {{result}}"),
                ],
                "ops",
                "Exported by the app worker (roadie-worker, metrics port 9101), not by the API nodes.",
            )
        )
        .with_panel(
            graph(
                "Messages published and delivered",
                [
                    ("sum(rate(rabbitmq_global_messages_received_total[5m]))", "published"),
                    ("sum(rate(rabbitmq_global_messages_delivered_total[5m]))", "delivered"),
                ],
                "ops",
            )
        )
        .build()
    )


DASHBOARDS: dict[str, Callable[[], dashboard.Dashboard]] = {
    "application-health": application_health,
    "database": database,
    "business": business,
    "supplier-search": supplier_search,
    "cache-and-queue": cache_and_queue,
}


def render(build: Callable[[], dashboard.Dashboard]) -> str:
    return json.dumps(build(), cls=JSONEncoder, indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name, build in DASHBOARDS.items():
        path = HERE / f"{name}.json"
        text = render(build)
        current = path.read_text() if path.exists() else ""
        if current != text:
            stale.append(path.name)
            if not check:
                path.write_text(text)
    if check and stale:
        print(f"stale dashboards: {', '.join(stale)}; run: python dashboards/dashboards.py")
        return 1
    print("dashboards up to date" if check else f"wrote {len(DASHBOARDS)} dashboards")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
