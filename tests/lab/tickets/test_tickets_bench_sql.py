"""`roadie bench tickets` parts that need the lab: the booking SQL under pgbench really books
one new seat per transaction on the primary, and the drain sees a booking's background work
through (outbox relay, consumer) before it reports the platform quiet."""

import tempfile
import time
import uuid
from pathlib import Path

from app.common.db import shard_endpoints
from roadie.bench import booking_sql, pgbench
from roadie.bench.drain import Drain
from roadie.drills.endpoints import discover
from tests.lab.tickets.conftest import book


def target(app_settings) -> pgbench.PgTarget:
    pg = app_settings.postgres
    primary = shard_endpoints(pg, app_settings.shards["msk"])[0]
    options = {"search_path": booking_sql.SCHEMA, "statement_timeout": str(pg.statement_timeout_ms)}
    return pgbench.PgTarget(primary.host, primary.port, pg.user, pg.password, "bench", options)


def test_the_booking_sql_books_one_new_seat_per_transaction(app_settings):
    bench = target(app_settings)
    with bench.connect() as conn:
        (seats,) = booking_sql.prepare(conn, number=1, ranges=[20000])
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "booking.sql"
        script.write_text(booking_sql.script())
        run = pgbench.run(
            bench, clients=4, seconds=2, script=script, defines=seats.defines(clients=4, shard="msk", number=1)
        )
    with bench.connect() as conn:
        sold, bookings = booking_sql.sold(conn, seats)
        outbox = conn.execute(f"SELECT count(*) FROM {booking_sql.SCHEMA}.outbox").fetchone()[0]
    assert run.transactions > 0
    assert sold == bookings == outbox == run.transactions


def test_the_drain_waits_for_a_bookings_event_to_be_applied(lab, app_settings, client, new_event, session, operator):
    drain = Drain(app_settings, discover(lab))
    drain.wait(drain.mark(), timeout=60)
    event, seats = new_event(seats_per_row=1)
    mark = drain.mark()
    booked = book(client, session, event["id"], seats[:1], key=f"drain-{uuid.uuid4()}")
    assert booked.status_code == 201, booked.text
    started = time.monotonic()
    drain.wait(mark, timeout=60)
    stats = client.get(f"/v1/events/{event['id']}/stats", headers=operator).raise_for_status().json()
    assert stats["tickets_sold"] == 1, f"drained after {time.monotonic() - started:.1f}s but not applied: {stats}"
