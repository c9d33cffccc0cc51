"""The simulator's HTTP API.

Supplier API (what the search calls)::

    POST /v1/{supplier}/search   {"hotel_ids": [...], "checkin": "YYYY-MM-DD", "nights": 7,
                                  "rooms": [{"adults": 2, "children_ages": [5]}]}
        200 {"supplier", "results": [{"hotel_id", "available", "offers": [
                 {"offer_id", "room", "board", "price_minor", "currency"}]}]}
        429 over capacity (Retry-After header; counted in /stats as over_limit)
        503 injected error;  400 batch larger than the supplier takes;  404 unknown supplier
    POST /v1/{supplier}/book     {"offer_id": "...", "hotel_id": "..."}
        200 {"status": "confirmed", "booking_id"};  409 {"status": "failed"} in "booking fails" mode

Operator API (drills and tests)::

    GET  /stats                              counters per supplier (calls, over_limit, ...)
    POST /admin/suppliers/{supplier}/mode    switch modes: {"all_unavailable": true, "booking_fails":
                                             false, "error_rate": 0.5, "latency_ms": 2000, ...}
    POST /admin/reset                        zero the counters and capacity windows
    GET  /metrics                            Prometheus text format
    GET  /healthz

Capacity is checked when a call arrives, before its latency; 429 answers are immediate.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field

from app.suppliersim.config import Modes, SimulatorConfig
from app.suppliersim.service import Simulator, SimulatorError, Sleep


class RoomIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    adults: int = Field(ge=1, le=10)
    children_ages: list[Annotated[int, Field(ge=0, le=17)]] = Field(default_factory=list, max_length=8)


class SearchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hotel_ids: list[str] = Field(min_length=1)
    checkin: date
    nights: int = Field(ge=1, le=60)
    rooms: list[RoomIn] = Field(min_length=1, max_length=10)


class OfferOut(BaseModel):
    offer_id: str
    room: str
    board: str
    price_minor: int
    currency: str


class HotelOut(BaseModel):
    hotel_id: str
    available: bool
    offers: list[OfferOut]


class SearchOut(BaseModel):
    supplier: str
    results: list[HotelOut]


class BookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    offer_id: str
    hotel_id: str = ""


class ModesPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    all_unavailable: bool | None = None
    booking_fails: bool | None = None
    error_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    latency_ms: float | None = Field(default=None, ge=0)
    jitter_ms: float | None = Field(default=None, ge=0)


def create_app(
    config: SimulatorConfig, *, clock: Callable[[], float] = time.monotonic, sleep: Sleep = asyncio.sleep
) -> FastAPI:
    """The simulator for ``config``; ``clock`` and ``sleep`` are injectable for tests."""
    simulator = Simulator(config, clock=clock, sleep=sleep)
    app = FastAPI(title="roadie supplier simulator", version="1")
    app.state.simulator = simulator

    @app.exception_handler(SimulatorError)
    async def simulator_error(_request: Request, exc: SimulatorError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)

    @app.post("/v1/{supplier}/search")
    async def search(supplier: str, body: SearchIn) -> SearchOut:
        rooms = tuple((room.adults, tuple(room.children_ages)) for room in body.rooms)
        results = await simulator.search(supplier, body.hotel_ids, body.checkin, body.nights, rooms)
        return SearchOut(
            supplier=supplier,
            results=[
                HotelOut(
                    hotel_id=r.hotel_id,
                    available=r.available,
                    offers=[OfferOut.model_validate(o, from_attributes=True) for o in r.offers],
                )
                for r in results
            ],
        )

    @app.post("/v1/{supplier}/book")
    async def book(supplier: str, body: BookIn) -> JSONResponse:
        result = await simulator.book(supplier, body.offer_id)
        if not result.confirmed:
            return JSONResponse({"status": "failed", "reason": "room no longer available"}, status_code=409)
        return JSONResponse({"status": "confirmed", "booking_id": result.booking_id})

    @app.get("/stats")
    async def stats() -> dict[str, Any]:
        return simulator.report()

    @app.post("/admin/suppliers/{supplier}/mode")
    async def set_mode(supplier: str, patch: ModesPatch) -> Modes:
        return simulator.set_modes(supplier, patch.model_dump(exclude_none=True))

    @app.post("/admin/reset")
    async def reset() -> dict[str, str]:
        simulator.reset()
        return {"status": "reset"}

    @app.get("/metrics")
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(simulator.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
