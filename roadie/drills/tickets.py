"""The ticketing app under a drill: racing buyers through the load balancer, and the two
promises checked in the database afterwards — no seat sold twice, no confirmed booking lost."""

import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import yaml

from app.common.settings import TicketSettings
from roadie.apiauth import ApiCredentials
from roadie.checker.history import BOOK, READ, OpValue
from roadie.checker.seats import LiveBooking
from roadie.drills.outcomes import Refused
from roadie.drills.probes import REQUEST_TIMEOUT, PgTarget, Probe
from roadie.drills.records import Journal
from roadie.errors import RoadieError
from roadie.lab import hosts
from roadie.lab.inventory import Lab
from roadie.services import internal_tls, registry

EVENT_SECTORS = 4
EVENT_ROWS = 30
EVENT_SEATS_PER_ROW = 40
# The workload the racing buyers share, and the buyers (each a customer with its own session).
BOOKINGS = "bookings"
BUYER = "buyer"
BUYERS = (f"{BUYER}-a", f"{BUYER}-b")
# Beyond the app's booking retry deadline: the load balancer and the app's last attempt.
BOOKING_TIMEOUT_MARGIN_S = 5.0


class BookingProbe(Probe):
    """Buys one seat per request with an Idempotency-Key, walking the event's seats in order.

    Two of these walk the same seats at the same pace, so they race for every seat: one
    must get 201 and the other 409. A 409 is a correct answer, not an error (in the history,
    a `fail`: definitely not applied). Both buyers are one workload, "bookings": together they
    must sell every seat once.

    The app holds a booking through a database failover for up to its retry deadline, so a
    buyer waits longer than that (`timeout`, from `booking_timeout`): a shorter wait would give
    up on a booking the app is about to confirm and record it as of unknown outcome.
    """

    kind = "write"
    f = BOOK

    def __init__(
        self,
        journal: Journal,
        interval: float,
        *,
        base_url: str,
        event_id: int,
        seats: list[int],
        name: str,
        session: Mapping[str, str],
        timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        super().__init__(journal, interval)
        self.name = name
        self.session = dict(session)  # opened before the drill: a fault never stops a buyer logging in
        self.event_id = event_id
        self.seats = seats
        self.timeout = timeout
        self.client = httpx.AsyncClient(base_url=base_url, timeout=timeout, verify=internal_tls.verify_for(base_url))
        self.bookings: list[int] = []
        self.conflicts = 0
        self.base_url = base_url

    @property
    def workload(self) -> str:
        return BOOKINGS

    @property
    def node(self) -> str:
        return self.base_url

    def invocation(self, key: str) -> OpValue:
        # Run calls this once per request, just before `attempt`, with the counter already moved on.
        seat = self.seats[self.counter % len(self.seats)]
        return OpValue(key=key, seats=(seat,), idempotency_key=f"{self.name}-{self.event_id}-{key}")

    async def attempt(self, key: str) -> OpValue:
        request = self.invocation(key)
        response = await self.client.post(
            "/v1/bookings",
            json={"event_id": self.event_id, "seat_ids": list(request.seats)},
            headers={"Idempotency-Key": request.idempotency_key, **self.session},
        )
        if response.status_code == 409:
            self.conflicts += 1
            raise Refused(f"409 for seat {request.seats[0]}")
        response.raise_for_status()
        booking = int(response.json()["id"])
        self.bookings.append(booking)
        return replace(request, booking=booking)

    @property
    def acked_count(self) -> int:
        return len(self.bookings)


class AppReadProbe(Probe):
    """Reads the event through the load balancer (cache-aside reads, replicas behind)."""

    name = "app-read"
    kind = "read"
    f = READ

    def __init__(self, journal: Journal, interval: float, *, base_url: str, event_id: int) -> None:
        super().__init__(journal, interval)
        self.path = f"/v1/events/{event_id}"
        self.client = httpx.AsyncClient(
            base_url=base_url, timeout=REQUEST_TIMEOUT, verify=internal_tls.verify_for(base_url)
        )

    async def attempt(self, key: str) -> None:
        (await self.client.get(self.path)).raise_for_status()


def open_sessions(base_url: str, api: ApiCredentials) -> dict[str, dict[str, str]]:
    """A session per buyer (its headers), opened before the drill."""
    with httpx.Client(base_url=base_url, timeout=10, verify=internal_tls.verify_for(base_url)) as client:
        return {buyer: api.open_session(client, buyer) for buyer in BUYERS}


def create_event(base_url: str, api: ApiCredentials) -> tuple[int, list[int]]:
    """A fresh event (in the first city) whose seats the drill's buyers race for."""
    verify = internal_tls.verify_for(base_url)
    with httpx.Client(base_url=base_url, timeout=10, headers=api.operator_headers(), verify=verify) as client:
        city = client.get("/v1/cities").raise_for_status().json()[0]["id"]
        starts = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0).isoformat()
        event = (
            client.post(
                "/v1/events",
                json={
                    "city_id": city,
                    "venue": "Drill Arena",
                    "title": f"drill {time.strftime('%H:%M:%S')}",
                    "starts_at": starts,
                    "sectors": [
                        {"name": f"S{i}", "rows": EVENT_ROWS, "seats_per_row": EVENT_SEATS_PER_ROW, "price": "10.00"}
                        for i in range(EVENT_SECTORS)
                    ],
                },
            )
            .raise_for_status()
            .json()
        )
        seats = client.get(f"/v1/events/{event['id']}/seats").raise_for_status().json()["seats"]
    return int(event["id"]), [int(s["id"]) for s in seats]


def app_config(lab: Lab) -> dict[str, Any]:
    """The app's own rendered configuration (app.yml of the first app host that has one)."""
    for host in lab.group("app"):
        entry = registry.find(host, "app")
        if entry is not None:
            return yaml.safe_load(hosts.on_disk(host, entry.text("config")).read_text())
    raise RoadieError("the app is not deployed: no app host has an app service")


def shard_databases(lab: Lab) -> list[str]:
    """The ticketing shards' databases, from the app's own rendered configuration."""
    return [shard["database"] for shard in app_config(lab)["shards"].values()]


def booking_timeout(config: dict[str, Any]) -> float:
    """How long a buyer waits for one booking: past the app's retry deadline (app.yml's
    tickets.booking_retry_deadline_seconds, the app's default when it is not set)."""
    deadline = float(
        config.get("tickets", {}).get(
            "booking_retry_deadline_seconds", TicketSettings.model_fields["booking_retry_deadline_seconds"].default
        )
    )
    return max(REQUEST_TIMEOUT, deadline + BOOKING_TIMEOUT_MARGIN_S)


def read_bookings(
    primary: PgTarget, databases: list[str], event_id: int
) -> tuple[frozenset[str], tuple[LiveBooking, ...]]:
    """The event's confirmed bookings in every shard: their Idempotency-Keys (the set checker's
    elements) and the seats each still holds (the per-seat checker's final state)."""
    keys: set[str] = set()
    live: list[LiveBooking] = []
    for database in databases:
        target = PgTarget(primary.host, primary.port, primary.user, primary.password, database)
        with psycopg.connect(target.conninfo()) as conn:
            rows = conn.execute(
                "select b.id, b.idempotency_key,"
                " coalesce(array_agg(bi.ticket_id) filter (where not bi.released), '{}')"
                " from bookings b left join booking_items bi on bi.booking_id = b.id"
                " where b.event_id = %s and b.status = 'confirmed' group by b.id, b.idempotency_key",
                (event_id,),
            ).fetchall()
        for booking, key, seats in rows:
            keys.add(key)
            live.append(LiveBooking(int(booking), tuple(int(s) for s in seats)))
    return frozenset(keys), tuple(live)
