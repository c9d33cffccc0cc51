"""The baseline: a bare ASGI application that answers a fixed JSON body, no framework.

Served by the same uvicorn (same event loop and HTTP parser) on the same node as the app, it
shows what the node could serve at most; the app's cached endpoint is compared with it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

BODY = b'[{"id":281474976710657,"city_id":1,"venue":"Hall","title":"Concert","starts_at":"2026-12-20T19:00:00Z"}]'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(
    scope: dict[str, Any],
    receive: Callable[[], Awaitable[dict[str, Any]]],
    send: Callable[[dict[str, Any]], Awaitable[None]],
) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
