"""Every dashboard panel's query returns data from the lab's Prometheus after a short load.

The load touches the data tier and the app through the load balancer (a session, an event
read through the caches, a hold, bookings that succeed, replay and conflict, a hotel search),
so every panel, on infrastructure and on the app's metrics (app/common/metrics.py,
app/search/metrics.py) alike, must return data; a panel without data fails the test by name.
"""

import contextlib
import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from redis.sentinel import Sentinel

from roadie.apiauth import ApiCredentials
from roadie.paths import project_root
from roadie.services import internal_tls
from tests.lab.observability.conftest import query
from tests.support import lb_client, manifest, wait_until

APP_METRICS = re.compile(r"\b(roadie_|search_|suppliersim_|slo:|route:)")
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
    sentinels = [manifest(h, "sentinel") for h in lab.group("sentinel")]
    tls = internal_tls.redis_options()
    master = Sentinel(
        [(s["address"], int(s["ports"]["sentinel"])) for s in sentinels],
        sentinel_kwargs={"password": lab_secrets["sentinel"], **tls},
    ).master_for("roadie", username="app", password=lab_secrets["redis_app"], socket_timeout=2, **tls)
    for i in range(200):
        master.set(f"dashboard-load:{uuid.uuid4().hex}", i, ex=60)
    app_load(lab)
    start = float(before[0]["value"][1]) if before else 0.0

    def scraped():
        now = query(prometheus_url, 'sum(pg_stat_database_xact_commit{datname="postgres"})')
        # rate() needs two scrapes of the series the load created
        booked = query(
            prometheus_url, 'max(count_over_time(roadie_bookings_total{job="app", outcome="conflicted"}[5m])) >= 2'
        )
        return now and float(now[0]["value"][1]) >= start + 200 and booked

    wait_until(scraped, 90, "Prometheus to scrape the load")
    return True


def app_load(lab) -> None:
    """Requests through the load balancer that move every app metric family the dashboards show."""
    api = ApiCredentials.for_lab(lab)
    with lb_client(lab, timeout=20) as http:
        for _ in range(5):
            http.get("/healthz")
            http.get("/v1/cities")
            http.get("/v1/events")
        headers = api.open_session(http, "dashboard-load")
        created = http.post(
            "/v1/events",
            headers=api.operator_headers(),
            json={
                "city_id": 1,
                "venue": "Dashboard Hall",
                "title": f"dashboard load {uuid.uuid4().hex[:8]}",
                "starts_at": (datetime.now(UTC) + timedelta(days=20)).isoformat(),
                "sectors": [{"name": "A", "rows": 1, "seats_per_row": 10, "price": "100.00"}],
            },
        )
        assert created.status_code == 201, created.text
        event_id = created.json()["id"]
        for _ in range(5):  # a miss, then hits of the event and seat caches
            http.get(f"/v1/events/{event_id}")
            seats = [s["id"] for s in http.get(f"/v1/events/{event_id}/seats").json()["seats"]]
        hold = http.post("/v1/holds", json={"event_id": event_id, "seat_ids": seats[:2]}, headers=headers)
        assert hold.status_code == 201, hold.text
        key = str(uuid.uuid4())
        for _ in range(2):  # succeeded, then replayed
            booked = http.post(
                "/v1/bookings", json={"hold_id": hold.json()["id"]}, headers={**headers, "Idempotency-Key": key}
            )
            assert booked.status_code in (200, 201), booked.text
        for _ in range(2):  # the first succeeds, the second conflicts
            http.post(
                "/v1/bookings",
                json={"event_id": event_id, "seat_ids": seats[2:4]},
                headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
            )
        http.get(f"/v1/events/{event_id}/seats")
        checkin = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
        for _ in range(3):
            with contextlib.suppress(httpx.HTTPError):
                found = http.post(
                    "/v1/search",
                    json={
                        "hotel_ids": [f"dash{uuid.uuid4().hex[:6]}{i}" for i in range(4)],
                        "checkin": checkin,
                        "nights": 2,
                        "occupancy": {"rooms": [{"adults": 2}]},
                        "suppliers": ["fast"],
                    },
                )
                # Book one offer the search showed: look-to-book needs a booking to exist.
                offers = [h for h in found.json().get("hotels", []) if h.get("offer")]
                if offers:
                    http.post(
                        "/v1/search/book",
                        headers=headers,
                        json={
                            "supplier": offers[0]["supplier"],
                            "hotel_id": offers[0]["hotel_id"],
                            "offer_id": offers[0]["offer"]["offer_id"],
                        },
                    )


@pytest.mark.parametrize("panel", INFRA_PANELS, ids=lambda p: f"{p[0]}:{p[1]}")
def test_infrastructure_panel_returns_data(panel, loaded, prometheus_url):
    board, title, expr = panel
    assert query(prometheus_url, expr), f"{board} / {title}: no data for {expr}"


@pytest.mark.parametrize("panel", APP_PANELS, ids=lambda p: f"{p[0]}:{p[1]}")
def test_app_panel_returns_data(panel, loaded, prometheus_url):
    board, title, expr = panel
    # A series the load has just created needs a scrape, and a recording rule an
    # evaluation, before a query sees it: poll for a while before calling the panel empty.
    with contextlib.suppress(AssertionError):
        wait_until(lambda: query(prometheus_url, expr), 90, f"data for {title}", interval=2)
        return
    hint = ""
    if not query(prometheus_url, 'up{job="app"} == 1'):
        hint = "; no app node is up"
    elif re.search(r"\b(slo|route):", expr):
        hint = "; if the raw series have data, Prometheus may run stale recording rules (re-run the prometheus role)"
    pytest.fail(f"{board} / {title}: no data for {expr}{hint}")


def test_redis_load_is_visible(loaded, prometheus_url):
    assert query(prometheus_url, 'rate(redis_commands_processed_total{job="redis"}[5m]) > 0')


def test_every_panel_is_classified():
    assert INFRA_PANELS
    assert len(INFRA_PANELS) + len(APP_PANELS) == len(PANELS)
