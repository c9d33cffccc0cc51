"""No seat sold twice: 500 buyers race through the load balancer for 100 seats."""

import asyncio
import uuid
from collections import Counter

import httpx

from roadie.services import internal_tls

BUYERS, SEATS = 500, 100


async def race(lb_url: str, session: dict[str, str], event_id: int, seat_ids: list[int]) -> list[tuple[int, int, dict]]:
    limits = httpx.Limits(max_connections=BUYERS, max_keepalive_connections=BUYERS)
    async with httpx.AsyncClient(base_url=lb_url, timeout=30, limits=limits, verify=internal_tls.http_verify()) as http:
        start = asyncio.Event()

        async def buyer(n: int) -> tuple[int, int, dict]:
            seat = seat_ids[n % SEATS]
            await start.wait()
            response = await http.post(
                "/v1/bookings",
                json={"event_id": event_id, "seat_ids": [seat]},
                headers={"Idempotency-Key": str(uuid.uuid4()), **session},
            )
            return seat, response.status_code, response.json()

        tasks = [asyncio.create_task(buyer(n)) for n in range(BUYERS)]
        await asyncio.sleep(0)  # let every buyer reach the start line
        start.set()
        return await asyncio.gather(*tasks)


def deadlocks(shard_db) -> int:
    return (
        shard_db("msk")
        .execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        .fetchone()["deadlocks"]
    )


def test_500_buyers_for_100_seats_sell_each_seat_exactly_once(lb_url, new_event, shard_db, session):
    event, seat_ids = new_event(rows=10, seats_per_row=10)
    deadlocks_before = deadlocks(shard_db)

    results = asyncio.run(race(lb_url, session, event["id"], seat_ids))

    statuses = Counter(status for _, status, _ in results)
    assert statuses == {201: SEATS, 409: BUYERS - SEATS}, (statuses, [b for _, st, b in results if st >= 500][:3])
    sold = [seat for seat, status, _ in results if status == 201]
    assert sorted(sold) == sorted(seat_ids)  # every seat once, none twice
    assert {body["code"] for _, status, body in results if status == 409} == {"seat_taken"}
    db = shard_db("msk")
    live = db.execute(
        "SELECT count(*) AS items, count(DISTINCT i.ticket_id) AS seats FROM booking_items i "
        "JOIN bookings b ON b.id = i.booking_id WHERE b.event_id = %s AND NOT i.released",
        (event["id"],),
    ).fetchone()
    assert live == {"items": SEATS, "seats": SEATS}
    assert deadlocks(shard_db) == deadlocks_before
