"""Booking attempts the app must refuse, at a fixed rate on a thread: buyers keep trying and
nothing sells (what TicketSalesStalled is about), without selling or changing any seat."""

import itertools
import threading
import time
import uuid

import httpx

from roadie.apiauth import ApiCredentials
from roadie.drills.tickets import create_event
from roadie.errors import RoadieError

REQUESTS_PER_S = 1.0
MAX_LOAD_S = 480.0  # a provocation that forgets to heal still stops after this
TIMEOUT_S = 10.0
NO_SUCH_SEAT = 2**62  # a seat id no event has: the app rejects the booking (4xx)


class RefusedBookings:
    """Books a seat the event does not have, round-robin over the app nodes, until stopped."""

    def __init__(self, node_urls: list[str], api: ApiCredentials) -> None:
        if not node_urls:
            raise RoadieError("no app node to send bookings to")
        self.node_urls = node_urls
        self.event_id, _ = create_event(node_urls[0], api)
        with httpx.Client(base_url=node_urls[0], timeout=TIMEOUT_S) as client:
            self.session = api.open_session(client, f"provoke-{uuid.uuid4().hex[:8]}@example.org")
        self.sent = 0
        self.statuses: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="refused-bookings")
        self._thread.start()

    def _run(self) -> None:
        deadline = time.monotonic() + MAX_LOAD_S
        with httpx.Client(timeout=TIMEOUT_S) as http:
            for n in itertools.count():
                if self._stop.is_set() or time.monotonic() > deadline:
                    return
                url = self.node_urls[n % len(self.node_urls)]
                body = {"event_id": self.event_id, "seat_ids": [NO_SUCH_SEAT]}
                headers = {"Idempotency-Key": f"provoke-{uuid.uuid4().hex}", **self.session}
                try:
                    status = http.post(f"{url}/v1/bookings", json=body, headers=headers).status_code
                    self.statuses[status] = self.statuses.get(status, 0) + 1
                    self.sent += 1
                except httpx.HTTPError:
                    pass  # a node restarting: the next attempt goes to the next node
                self._stop.wait(1 / REQUESTS_PER_S)

    def stop(self) -> dict[int, int]:
        self._stop.set()
        self._thread.join(timeout=TIMEOUT_S + 5)
        return self.statuses
