"""Micro-caching in front of the framework, as a caching reverse proxy would do it.

For a few routes whose answers are eventually consistent anyway (event listings), the exact
GET URL's last 200 answer is replayed for about a second without entering the framework,
tracing or the handler. A crowd asking for the same listing at once costs one request per
second per node; every other request passes through untouched. The first request for a URL
always goes through the framework, so only answers the app validated are replayed.

When an answer expires, one request refreshes it while the others are still served the
previous answer (stale-while-revalidate, for at most MAX_STALE seconds): otherwise every
request in flight at that instant would miss at once and stall the node once per TTL.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.common.metrics import CACHE, HTTP_LATENCY, HTTP_REQUESTS

MAX_BODY = 256 * 1024
MAX_STALE = 5.0  # seconds an expired answer may still be served while one request refreshes it


class MicroCache:
    def __init__(
        self, app: ASGIApp, paths: dict[str, str], ttl: float = 1.0, max_entries: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        """`paths`: exact request path → route label for metrics (e.g. "/v1/events")."""
        self.app = app
        self._paths = paths
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._entries: dict[bytes, tuple[float, list[tuple[bytes, bytes]], bytes]] = {}
        self._refreshing: set[bytes] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] not in self._paths:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        key = scope["path"].encode() + b"?" + scope.get("query_string", b"")
        entry = self._entries.get(key)
        now = self._clock()
        fresh = entry is not None and entry[0] > now
        stale_ok = entry is not None and key in self._refreshing and now < entry[0] + MAX_STALE
        if entry is not None and (fresh or stale_ok):
            CACHE.labels("micro", "hit" if fresh else "stale").inc()
            await send({"type": "http.response.start", "status": 200, "headers": entry[1]})
            await send({"type": "http.response.body", "body": entry[2]})
            route = self._paths[scope["path"]]
            HTTP_REQUESTS.labels(route, "GET", "200").inc()
            HTTP_LATENCY.labels(route, "GET").observe(time.perf_counter() - started)
            return
        CACHE.labels("micro", "miss").inc()
        self._refreshing.add(key)
        try:
            await self.app(scope, receive, self._recorder(key, send))
        finally:
            self._refreshing.discard(key)

    def _recorder(self, key: bytes, send: Send) -> Send:
        status = 0
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def record(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
            elif message["type"] == "http.response.body" and status == 200:
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    body = b"".join(chunks)
                    if len(body) <= MAX_BODY:
                        self._store(key, headers, body)
            await send(message)

        return record

    def _store(self, key: bytes, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        if len(self._entries) >= self._max:
            now = self._clock()
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            if len(self._entries) >= self._max:
                self._entries.clear()
        self._entries[key] = (self._clock() + self._ttl, headers, body)
