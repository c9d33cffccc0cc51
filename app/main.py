"""The app: a FastAPI factory composing its halves (ticketing; hotel search via the hook below).

    uvicorn --factory app.main:create_asgi   (settings from $ROADIE_APP_CONFIG)

Operational endpoints: /healthz (liveness: the process serves requests), /readyz (its
dependencies answer), /metrics (Prometheus, operator token), /openapi.json and /docs.
Who may call what: app.common.auth.
"""

from __future__ import annotations

import gc
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from psycopg_pool import PoolTimeout
from redis.exceptions import RedisError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.common.auth import AuthError, Operator
from app.common.logging import request_id, setup_logging
from app.common.metrics import HTTP_ERRORS, HTTP_LATENCY, HTTP_REQUESTS, REGISTRY, PoolCollector
from app.common.microcache import MicroCache
from app.common.settings import Settings, load_settings
from app.common.tracing import setup_tracing
from app.search import api as search_api
from app.tickets import api as tickets_api
from app.tickets.errors import TicketError
from app.tickets.service import Tickets

log = logging.getLogger("app")
SLOW_REQUEST_SECONDS = 0.2  # the p95 target of the design documents
MICRO_CACHE_SECONDS = 1.0  # listings are eventually consistent: a second more is invisible


def optional_routers(settings: Settings) -> list[APIRouter]:
    """The app's other halves, mounted beside ticketing. Hotel search (app/search) brings its own
    router and lifespan: it reads search.yml beside app.yml (role app_search renders it) and
    answers 503 on its routes when that file is absent, so ticketing never depends on it."""
    del settings  # search has its own settings file
    return [search_api.router]


def create_asgi() -> ASGIApp:
    """What the web server runs: the app behind its micro-cache (uvicorn --factory)."""
    return MicroCache(create_app(), paths={"/v1/events": "/v1/events"}, ttl=MICRO_CACHE_SECONDS)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    setup_logging(settings.node, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tickets = Tickets.build(settings)
        await tickets.open()
        app.state.tickets = tickets
        app.state.sessions = tickets.sessions
        collector = PoolCollector(tickets.pools.stats)
        REGISTRY.register(collector)
        # Everything built at start-up lives as long as the process: move it out of the garbage
        # collector's sight, so full collections stay short (they showed as p99 spikes).
        gc.collect()
        gc.freeze()
        log.info("app started on %s", settings.node)
        try:
            yield
        finally:
            REGISTRY.unregister(collector)
            await tickets.close()

    app = FastAPI(
        title="roadie app",
        version="1.0.0",
        description="Concert ticketing (and hotel search) on the roadie platform.",
        lifespan=lifespan,
    )
    app.state.auth = settings.auth
    app.include_router(tickets_api.router)
    for router in optional_routers(settings):
        app.include_router(router)
    _add_operational_routes(app)
    _add_error_handlers(app)
    setup_tracing(app, settings.tracing, settings.node)
    app.add_middleware(ObservedRequests)
    return app


def _add_operational_routes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers. Checks nothing else, so a database failover never
        makes the load balancer or the supervisor throw healthy nodes away."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], responses={503: {"description": "A dependency is not answering."}})
    async def readyz(request: Request) -> JSONResponse:
        """Readiness: the databases (primary and replicas of every shard) and Redis answer."""
        checks = await request.app.state.tickets.readiness()
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    @app.get("/metrics", tags=["operations"], response_class=PlainTextResponse, dependencies=[Operator])
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def _problem(status: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse({"code": code, "detail": detail}, status_code=status)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(TicketError)
    async def ticket_error(_: Request, exc: TicketError) -> JSONResponse:
        return _problem(exc.status, exc.code, exc.detail)

    @app.exception_handler(AuthError)
    async def auth_error(_: Request, exc: AuthError) -> JSONResponse:
        return JSONResponse({"code": exc.code, "detail": exc.detail}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        reasons = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
        return _problem(422, "invalid", reasons or "malformed request")

    # Dependencies down (failover in progress, pool exhausted, a write that reached a demoted
    # primary): the client may retry. Bookings get here once their own re-runs ran out.
    @app.exception_handler(psycopg.OperationalError)
    @app.exception_handler(psycopg.errors.ReadOnlySqlTransaction)
    @app.exception_handler(PoolTimeout)
    @app.exception_handler(RedisError)
    async def unavailable(_: Request, exc: Exception) -> JSONResponse:
        log.warning("dependency unavailable: %s: %s", type(exc).__name__, exc)
        return JSONResponse(
            {"code": "unavailable", "detail": f"temporarily unavailable ({type(exc).__name__}); retry"},
            status_code=503,
            headers={"Retry-After": "1"},
        )


class ObservedRequests:
    """Pure ASGI middleware: request id, metrics by route template, one JSON log line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        rid = headers.get(b"x-request-id", b"").decode("latin-1")[:100] or uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            method = scope["method"]
            HTTP_REQUESTS.labels(template, method, str(status)).inc()
            HTTP_LATENCY.labels(template, method).observe(elapsed)
            if status >= 400:
                HTTP_ERRORS.labels(template, str(status)).inc()
            # Prometheus counts every request; the log keeps the ones worth reading.
            if status >= 400 or elapsed >= SLOW_REQUEST_SECONDS:
                log.info(
                    "%s %s %s",
                    method,
                    scope["path"],
                    status,
                    extra={
                        "method": method,
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )
            request_id.reset(token)
