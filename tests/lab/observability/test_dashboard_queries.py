"""Every dashboard panel's query returns data from the lab's Prometheus after a short load.

Panels on the app's and the supplier simulator's metrics need those services (other
issues are building them). Until they export the metrics, those panels are reported as an
expected failure naming each panel, never skipped silently; infrastructure panels must
return data.
"""

import contextlib
import json
import re
import uuid

import httpx
import psycopg
import pytest
from redis.sentinel import Sentinel

from roadie.paths import project_root
from tests.lab.observability.conftest import query
from tests.support import manifest, wait_until

APP_METRICS = re.compile(
    r"\b(http_request|db_pool_|cache_requests_|bookings_|tickets_sold_|revenue_|search_|app_active_|suppliersim_"
    r"|slo:|route:|supplier:)"
)
PANELS = [
    (path.stem, panel["title"], target["expr"])
    for path in sorted((project_root() / "dashboards").glob("*.json"))
    for panel in json.loads(path.read_text())["panels"]
    for target in panel.get("targets", [])
]
INFRA_PANELS = [p for p in PANELS if not APP_METRICS.search(p[2])]
APP_PANELS = [p for p in PANELS if APP_METRICS.search(p[2])]


@pytest.fixture(scope="module")
def loaded(lab, lab_secrets, prometheus_url):
    """A short load on the data tier, then one scrape so the counters moved."""
    before = query(prometheus_url, 'sum(pg_stat_database_xact_commit{datname="postgres"})')
    pg_lb = manifest(lab.group("pg_lb")[0], "haproxy_pg")
    with psycopg.connect(
        host=pg_lb["address"],
        port=int(pg_lb["ports"]["primary"]),
        user="postgres",
        password=lab_secrets["postgres_superuser"],
        dbname="postgres",
        connect_timeout=5,
        autocommit=True,
    ) as conn:
        for _ in range(200):
            conn.execute("select count(*) from pg_class")
    sentinels = [(h.address, 26379) for h in lab.group("sentinel")]
    master = Sentinel(sentinels, sentinel_kwargs={"password": lab_secrets["sentinel"]}).master_for(
        "roadie", username="app", password=lab_secrets["redis_app"], socket_timeout=2
    )
    for i in range(200):
        master.set(f"dashboard-load:{uuid.uuid4().hex}", i, ex=60)
    for host in lab.group("lb"):
        with contextlib.suppress(httpx.HTTPError):  # the load balancer is being built by another issue
            httpx.get(f"http://{host.address}/healthz", timeout=2)
    start = float(before[0]["value"][1]) if before else 0.0

    def scraped():
        now = query(prometheus_url, 'sum(pg_stat_database_xact_commit{datname="postgres"})')
        return now and float(now[0]["value"][1]) >= start + 200

    wait_until(scraped, 60, "Prometheus to scrape the load")
    return True


@pytest.mark.parametrize("panel", INFRA_PANELS, ids=lambda p: f"{p[0]}:{p[1]}")
def test_infrastructure_panel_returns_data(panel, loaded, prometheus_url):
    board, title, expr = panel
    assert query(prometheus_url, expr), f"{board} / {title}: no data for {expr}"


def test_app_panels_return_data(loaded, prometheus_url):
    empty = [f"{board} / {title}" for board, title, expr in APP_PANELS if not query(prometheus_url, expr)]
    if empty:
        app_up = bool(query(prometheus_url, 'up{job="app"} == 1'))
        state = "runs but does not export these metrics yet" if app_up else "is not running yet"
        # Reported in the test summary (-rx), never skipped silently; the app's issue turns it green.
        pytest.xfail(f"the app {state}: {len(empty)} panels without data: {empty}")


def test_redis_load_is_visible(loaded, prometheus_url):
    assert query(prometheus_url, 'rate(redis_commands_processed_total{job="redis"}[5m]) > 0')


def test_every_panel_is_classified():
    assert INFRA_PANELS
    assert len(INFRA_PANELS) + len(APP_PANELS) == len(PANELS)
