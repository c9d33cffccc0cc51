"""A bounded search load on one supplier, straight to the app nodes: what keeps a supplier's
circuit breaker busy while a provocation has the supplier simulator fail."""

import itertools
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from roadie.errors import RoadieError

REQUESTS_PER_S = 5.0
MAX_LOAD_S = 300.0  # a provocation that forgets to heal still stops loading after this
TIMEOUT_S = 10.0
HOTELS_PER_SEARCH = 5


def search_body(supplier: str, stay: int) -> dict[str, Any]:
    """A search for hotels no earlier search asked for: no cache answers it, the supplier is called."""
    tag = uuid.uuid4().hex[:8]
    checkin = (datetime.now(UTC) + timedelta(days=30 + stay % 300)).date()
    return {
        "hotel_ids": [f"provoke{tag}{i}" for i in range(HOTELS_PER_SEARCH)],
        "checkin": checkin.isoformat(),
        "nights": 1 + stay % 14,
        "occupancy": {"rooms": [{"adults": 2}]},
        "suppliers": [supplier],
    }


class SearchLoad:
    """Searches `supplier` across the nodes at a fixed rate on a thread, until stopped."""

    def __init__(self, node_urls: list[str], supplier: str) -> None:
        if not node_urls:
            raise RoadieError("no app node serves search")
        self.node_urls = node_urls
        self.supplier = supplier
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"search-load-{supplier}")
        self._thread.start()

    def _run(self) -> None:
        deadline = time.monotonic() + MAX_LOAD_S
        stays = itertools.count()
        with httpx.Client(timeout=TIMEOUT_S) as http:
            while not self._stop.is_set() and time.monotonic() < deadline:
                stay = next(stays)
                url = self.node_urls[stay % len(self.node_urls)]
                try:
                    http.post(f"{url}/v1/search", json=search_body(self.supplier, stay))
                    self.sent += 1
                except httpx.HTTPError:
                    pass  # a node busy or restarting: the next search goes to the next node
                self._stop.wait(1 / REQUESTS_PER_S)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join(timeout=TIMEOUT_S + 5)
        return self.sent


def breaker_phase(node_url: str, operator_token: str, supplier: str) -> str:
    answer = httpx.get(
        f"{node_url}/v1/search/stats", headers={"Authorization": f"Bearer {operator_token}"}, timeout=TIMEOUT_S
    )
    answer.raise_for_status()
    return str(answer.json()["suppliers"][supplier]["breaker"]["phase"])


def search_until_closed(
    node_urls: list[str], stats_url: str, operator_token: str, supplier: str, timeout: float
) -> None:
    """Search the supplier (the breaker's probes) until its breaker is closed again."""
    load = SearchLoad(node_urls, supplier)
    try:
        deadline = time.monotonic() + timeout
        while breaker_phase(stats_url, operator_token, supplier) != "closed":
            if time.monotonic() > deadline:
                raise RoadieError(f"the breaker of {supplier} did not close within {timeout:.0f}s of the heal")
            time.sleep(1)
    finally:
        load.stop()
