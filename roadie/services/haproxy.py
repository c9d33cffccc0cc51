"""HAProxy's stats page as CSV (`/;csv`): which servers of a backend are UP.

Both HAProxies publish a `stats` port in the registry: the PostgreSQL one (haproxy_pg,
backends pg_primary and pg_replicas) and the app load balancer (loadbalancer, app_nodes). Both
serve it over HTTPS from the internal CA (it takes the stats password), verified against it.
"""

from __future__ import annotations

import httpx

from roadie.services import internal_tls
from roadie.services.registry import Service

# Columns of HAProxy's CSV stats: proxy name, server name, ..., status (18th).
_PROXY, _SERVER, _STATUS = 0, 1, 17
USER = "stats"
CSV_PATH = "/;csv"


def up_servers(csv: str, backend: str) -> list[str]:
    """Servers of `backend` whose status is UP, in the order HAProxy lists them."""
    rows = (line.split(",") for line in csv.splitlines() if not line.startswith("#"))
    return [
        row[_SERVER]
        for row in rows
        if len(row) > _STATUS
        and row[_PROXY] == backend
        and row[_SERVER] not in ("FRONTEND", "BACKEND")
        and row[_STATUS].startswith("UP")
    ]


def stats_url(haproxy: Service) -> str:
    return haproxy.url("stats", CSV_PATH)


class HaproxyStats:
    """One HAProxy's stats page, read with the stats user's password."""

    def __init__(self, haproxy: Service, password: str, timeout: float = 2.0) -> None:
        self.url = stats_url(haproxy)
        self.auth = (USER, password)
        self.timeout = timeout

    def csv(self) -> str:
        response = httpx.get(self.url, auth=self.auth, timeout=self.timeout, verify=internal_tls.verify_for(self.url))
        response.raise_for_status()
        return response.text

    def up(self, backend: str) -> list[str]:
        return up_servers(self.csv(), backend)


class AsyncHaproxyStats:
    """The same page for an asyncio sampler (a drill's watcher)."""

    def __init__(self, url: str, password: str, timeout: float) -> None:
        self.url = url
        self.client = httpx.AsyncClient(timeout=timeout, auth=(USER, password), verify=internal_tls.verify_for(url))

    async def up(self, backend: str) -> list[str]:
        return up_servers((await self.client.get(self.url)).text, backend)

    async def close(self) -> None:
        await self.client.aclose()
