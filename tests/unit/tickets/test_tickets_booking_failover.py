"""The real app against a real PostgreSQL that goes away in the middle of a booking and comes
back: the booking (it carries an Idempotency-Key) is re-run by the app and succeeds exactly
once; an unkeyed write made while no server is up is answered 503 with Retry-After.

The server is a throwaway PostgreSQL 15 (tests/unit/tickets/throwaway_postgres.py); Redis is
absent on purpose (the cache is never fatal). The app runs in-process behind httpx's ASGI
transport, with its lifespan, so every layer from the HTTP handler to the pool is the real one.
"""

import asyncio
import contextlib
import signal
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest

from app.common.metrics import REGISTRY
from app.common.settings import Settings
from app.main import create_app
from app.tickets.migrate import migrate_shard
from tests.unit.tickets import throwaway_postgres
from tests.unit.tickets.test_tickets_settings import VALID
from tests.unit.tickets.throwaway_postgres import HOST, ThrowawayPostgres

pytestmark = pytest.mark.skipif(
    throwaway_postgres.unavailable_reason() is not None, reason=str(throwaway_postgres.unavailable_reason())
)

DATABASE = "tickets_msk"
DEADLINE_S = 15.0
OUTAGE_S = 3.0
# After the server is back, a re-run starts within one backoff (0.5 s) and the pool connects
# within one connection wait (1 s); the rest is slack for a loaded 2-core machine.
BACK_WITHIN_S = 3.0
CUSTOMER = "failover-test"
SESSION = {"X-Session-Id": "failover-session"}
OPERATOR = {"Authorization": f"Bearer {VALID['auth']['operator_token']}"}


class OneSessionStore:
    """A stand-in for the Redis session store (Redis is absent here on purpose): the one
    session this test uses belongs to CUSTOMER; sessions themselves are tested in
    test_tickets_auth.py and against the lab's Redis."""

    async def customer(self, session_id: str | None) -> str | None:
        assert session_id == SESSION["X-Session-Id"]
        return CUSTOMER


@pytest.fixture
def pg() -> Iterator[ThrowawayPostgres]:
    server = ThrowawayPostgres()
    try:
        server.start()
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
        yield server
    finally:
        server.remove()


def settings_for(server: ThrowawayPostgres) -> Settings:
    endpoint = {"host": HOST, "port": server.port}
    with socket.socket() as sock:  # a port nothing listens on: Redis is absent
        sock.bind((HOST, 0))
        no_redis = sock.getsockname()[1]
    return Settings.model_validate(
        {
            "node": "test-app",
            "postgres": {
                "primary": endpoint,
                "replicas": endpoint,
                "user": "postgres",
                "password": "unused-trust-auth",
                # The throwaway server has no certificate (the lab's PostgreSQL requires TLS).
                "tls": {"mode": "disable"},
                "pool_timeout": 2.0,
            },
            "shards": {"msk": {"number": 1, "database": DATABASE}},
            "cities": [{"id": 1, "name": "Moscow", "shard": "msk"}],
            "redis": {
                "sentinels": [{"host": HOST, "port": no_redis}],
                "master_name": "roadie",
                "sentinel_password": "s",
                "user": "app",
                "password": "r",
                # Nothing listens there (Redis is absent): TLS or not, every call fails the same.
                "tls": {"enabled": False},
            },
            "rabbitmq": {
                "host": HOST,
                "vhost": "roadie",
                "user": "app",
                "password": "m",
                # Nothing listens there either (RabbitMQ is absent).
                "tls": {"enabled": False},
            },
            "auth": VALID["auth"],
            "tickets": {"booking_retry_deadline_seconds": DEADLINE_S},
        }
    )


@contextlib.asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    await migrate_shard(settings, "msk")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        app.state.sessions = OneSessionStore()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app", timeout=60, headers=SESSION) as client:
            yield client


async def new_event(client: httpx.AsyncClient) -> tuple[int, list[int]]:
    starts = (datetime.now(UTC) + timedelta(days=20)).isoformat()
    body = {
        "city_id": 1,
        "venue": "Failover Hall",
        "title": f"failover {uuid.uuid4().hex[:6]}",
        "starts_at": starts,
        "sectors": [{"name": "A", "rows": 1, "seats_per_row": 4, "price": "10.00"}],
    }
    event = (await client.post("/v1/events", json=body, headers=OPERATOR)).raise_for_status().json()
    seats = (await client.get(f"/v1/events/{event['id']}/seats")).raise_for_status().json()["seats"]
    return int(event["id"]), [int(s["id"]) for s in seats]


async def wait_for_backend(conn: psycopg.AsyncConnection, wait_event: str) -> None:
    """Until some backend waits on `wait_event` (the booking is where the test wants it)."""
    for _ in range(200):
        cur = await conn.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event = %s", (wait_event,))
        if (await cur.fetchone())[0]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no backend ever waited on {wait_event}")


def bookings_with_key(server: ThrowawayPostgres, key: str) -> list[tuple[int, list[int]]]:
    with psycopg.connect(server.dsn(DATABASE)) as conn:
        rows = conn.execute(
            "SELECT b.id, array_agg(i.ticket_id) FROM bookings b JOIN booking_items i ON i.booking_id = b.id "
            "WHERE b.idempotency_key = %s GROUP BY b.id",
            (key,),
        ).fetchall()
    return [(int(booking), list(seats)) for booking, seats in rows]


def counter(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def book(client: httpx.AsyncClient, event_id: int, seat: int, key: str) -> "asyncio.Task[httpx.Response]":
    body = {"event_id": event_id, "seat_ids": [seat]}
    return asyncio.create_task(client.post("/v1/bookings", json=body, headers={"Idempotency-Key": key}))


def test_a_keyed_booking_rides_out_a_crash_and_an_unkeyed_write_gets_503(pg):
    key = f"failover-{uuid.uuid4()}"

    async def scenario() -> None:
        async with running_app(settings_for(pg)) as client:
            event_id, seats = await new_event(client)
            succeeded = counter("roadie_bookings_retried_total", result="succeeded")
            # Hold the key's lock elsewhere so that the booking is mid-transaction when the
            # server dies (an immediate shutdown: every session is cut at once).
            blocker = await psycopg.AsyncConnection.connect(pg.dsn(DATABASE), autocommit=True)
            await blocker.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (key,))
            booking = book(client, event_id, seats[0], key)
            await wait_for_backend(blocker, "advisory")
            await asyncio.to_thread(pg.stop, signal.SIGQUIT)
            await blocker.close()

            unkeyed = await client.post("/v1/holds", json={"event_id": event_id, "seat_ids": [seats[1]]})
            assert unkeyed.status_code == 503
            assert unkeyed.headers["Retry-After"] == "1"
            assert unkeyed.json()["code"] == "unavailable"
            await asyncio.sleep(max(0.0, OUTAGE_S - 2.0))
            assert not booking.done(), "the booking was answered while no server was up"

            back_at = await asyncio.to_thread(pg.start)
            response = await booking
            answered_at = time.monotonic()
            assert response.status_code == 201, response.text
            assert answered_at - back_at < BACK_WITHIN_S
            assert bookings_with_key(pg, key) == [(response.json()["id"], [seats[0]])]
            assert counter("roadie_bookings_retried_total", result="succeeded") == succeeded + 1
            assert counter("roadie_booking_reruns_total", reason="no connection") >= 1

    asyncio.run(scenario())


def test_a_booking_whose_commit_was_cut_off_is_found_again_not_made_twice(pg):
    """The switchover case: the COMMIT is local, the server shuts down (fast) while the
    backend waits for its synchronous standby, and the client never hears the answer. The
    re-run finds the booking by its key and answers it; no second booking exists."""
    key = f"failover-{uuid.uuid4()}"

    async def scenario() -> None:
        async with running_app(settings_for(pg)) as client:
            event_id, seats = await new_event(client)
            succeeded = counter("roadie_bookings_retried_total", result="succeeded")
            admin = await psycopg.AsyncConnection.connect(pg.dsn(DATABASE), autocommit=True)
            # A synchronous standby that never comes: every write's COMMIT waits after it is local.
            await admin.execute("ALTER SYSTEM SET synchronous_standby_names = 'nobody'")
            await admin.execute("SELECT pg_reload_conf()")
            booking = book(client, event_id, seats[0], key)
            await wait_for_backend(admin, "SyncRep")
            await asyncio.to_thread(pg.stop, signal.SIGINT)
            await admin.close()
            assert not booking.done()

            await asyncio.to_thread(pg.start, "synchronous_standby_names=")
            response = await booking
            assert response.status_code == 200, response.text
            assert response.headers["Idempotent-Replayed"] == "true"
            assert bookings_with_key(pg, key) == [(response.json()["id"], [seats[0]])]
            assert counter("roadie_bookings_retried_total", result="succeeded") == succeeded + 1

    asyncio.run(scenario())
