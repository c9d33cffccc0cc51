"""Fixtures of the ticketing tests: the load balancer's URL, the app's rendered settings (for
checks straight in the databases), events made through the API (with the operator token), and
customer sessions (tokens of the lab's customer issuer)."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from app.common.db import primary_dsn
from app.common.settings import Settings
from roadie.lab import app_settings as lab_app_settings
from roadie.services import internal_tls
from tests import support
from tests.support import manifest

MOSCOW, SAINT_PETERSBURG = 1, 3


@pytest.fixture(scope="session")
def lb_url(lab, running_hosts):
    return support.lb_url(lab)


@pytest.fixture(scope="session")
def app_nodes(lab, running_hosts):
    """Base URL of each app node, straight (not through the load balancer)."""
    return {
        h.name: f"http://{manifest(h, 'app')['address']}:{manifest(h, 'app')['ports']['http']}"
        for h in lab.group("app")
    }


@pytest.fixture(scope="session")
def app_settings(lab, running_hosts) -> Settings:
    return lab_app_settings.app_settings(lab.group("app")[0])


@pytest.fixture(scope="session")
def client(lb_url):
    with httpx.Client(base_url=lb_url, timeout=15, verify=internal_tls.http_verify()) as http:
        yield http


@pytest.fixture
def shard_db(app_settings):
    """Open a connection to a shard's primary: shard_db("msk")."""
    opened = []

    def connect(shard: str) -> psycopg.Connection:
        conn = psycopg.connect(
            primary_dsn(app_settings.postgres, app_settings.shards[shard], "tests"),
            row_factory=dict_row,
            autocommit=True,
        )
        opened.append(conn)
        return conn

    yield connect
    for conn in opened:
        conn.close()


def event_body(city_id: int = MOSCOW, rows: int = 1, seats_per_row: int = 10, price: str = "100.00") -> dict:
    return {
        "city_id": city_id,
        "venue": "Test Hall",
        "title": f"test {uuid.uuid4().hex[:8]}",
        "starts_at": (datetime.now(UTC) + timedelta(days=20)).isoformat(),
        "sectors": [{"name": "A", "rows": rows, "seats_per_row": seats_per_row, "price": price}],
    }


@pytest.fixture
def customer(client, api):
    """Open a session for a new customer (or the one named): its headers."""

    def open_session(name: str | None = None) -> dict[str, str]:
        return api.open_session(client, name or f"customer-{uuid.uuid4().hex[:8]}@example.org")

    return open_session


@pytest.fixture
def session(customer) -> dict[str, str]:
    """A session of a customer of its own for this test."""
    return customer()


@pytest.fixture
def new_event(client, operator):
    """Create an event through the load balancer; returns (event, seat ids in order)."""

    def create(**kwargs) -> tuple[dict, list[int]]:
        response = client.post("/v1/events", json=event_body(**kwargs), headers=operator)
        assert response.status_code == 201, response.text
        event = response.json()
        seats = client.get(f"/v1/events/{event['id']}/seats").json()["seats"]
        return event, [s["id"] for s in seats]

    return create


def book(client, session: dict[str, str], event_id: int, seat_ids: list[int], key: str | None = None) -> httpx.Response:
    """Buy seats directly in `session` (its headers)."""
    return client.post(
        "/v1/bookings",
        json={"event_id": event_id, "seat_ids": seat_ids},
        headers={"Idempotency-Key": key or str(uuid.uuid4()), **session},
    )
