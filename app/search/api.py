"""The search HTTP API: a FastAPI router the app mounts with ``app.include_router(router)``.

Public (through the load balancer)::

    POST /v1/search          best offer per hotel across suppliers (422 on invalid input)
    POST /v1/search/book     book an offer (customer session; its outcome feeds the supplier's breaker)
    GET  /v1/search/stats    this node: offer store backend, membership, ... (operator token)

Internal (node to node, not in the OpenAPI schema, refused by the public load balancer)::

    POST /internal/v1/search/fetch   a non-owner forwards misses to the routing key's owner
    GET  /internal/v1/search/owner   which node owns (supplier, check-in, nights) right now

An internal route takes the search's node token (``node_token``, what peers send) or the
operator token (app.common.auth): a miss forwarded here skips the cache and spends a supplier's
rate limit and look-to-book budget, so nobody else may send one.

The router carries its own lifespan (FastAPI merges it into the app's): it finds the search
settings (``wiring.config_path``), builds and starts the search and stops it on shutdown. Without
settings the app still runs and these endpoints answer 503 saying why.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field

from app.common.auth import OPERATOR_SCHEME, Customer, Operator, settings_of, token_matches, unauthenticated
from app.search import wiring
from app.search.cache_key import BatchKey, OfferKey, parse_occupancy, routing_key
from app.search.directory import UnknownCity
from app.search.models import ID_PATTERN, HotelId, Occupancy, SearchRequest, SearchResponse, SupplierId
from app.search.supplier_client import SupplierCallError
from app.search.wiring import CitySearchUnavailable, SearchRuntime

log = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await wiring.start(app)
    try:
        yield
    finally:
        await wiring.stop(app)


router = APIRouter(tags=["search"], lifespan=lifespan)


class SearchBody(SearchRequest):
    """A search; ``suppliers`` optionally narrows it to some of the configured suppliers."""

    suppliers: tuple[SupplierId, ...] | None = Field(
        default=None, description="ask only these configured suppliers (default: all)"
    )


class BookBody(BaseModel):
    """An offer to book; with the stay it was searched for, a refused booking evicts its cached offer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    supplier: SupplierId
    hotel_id: HotelId
    offer_id: str = Field(min_length=1, max_length=200)
    checkin: date | None = None
    nights: int | None = Field(default=None, ge=1, le=60)
    occupancy: Occupancy | None = None

    def offer_key(self) -> OfferKey | None:
        if self.checkin is None or self.nights is None or self.occupancy is None:
            return None
        return OfferKey.of(self.supplier, self.hotel_id, self.checkin, self.nights, self.occupancy)


class ForwardBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    supplier: SupplierId
    checkin: date
    nights: int = Field(ge=1, le=60)
    occupancy: str = Field(min_length=2, max_length=200)
    hotel_ids: tuple[HotelId, ...] = Field(min_length=1, max_length=1000)


def _problem(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"code": code, "detail": detail}, status_code=status, headers=headers)


def _runtime(request: Request) -> SearchRuntime | JSONResponse:
    runtime: SearchRuntime | None = getattr(request.app.state, "search", None)
    if runtime is None:
        reason = getattr(request.app.state, "search_off_reason", "search is not started")
        return _problem(503, "search_off", f"hotel search is not configured on this node: {reason}")
    return runtime


async def require_node_or_operator(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(OPERATOR_SCHEME)]
) -> None:
    """An internal route's caller: a search node (its node token) or an operator."""
    runtime: SearchRuntime | None = getattr(request.app.state, "search", None)
    if runtime is not None and token_matches(credentials, runtime.settings.node_token):
        return
    if not token_matches(credentials, settings_of(request).operator_token):
        raise unauthenticated("internal route: needs the search node token or the operator token")


Internal = Depends(require_node_or_operator)


def _unknown_suppliers(runtime: SearchRuntime, names: tuple[str, ...] | None) -> JSONResponse | None:
    unknown = sorted(set(names or ()) - set(runtime.supplier_names))
    if unknown:
        known = ", ".join(runtime.supplier_names)
        return _problem(422, "invalid", f"suppliers: unknown {unknown}; configured: {known}")
    return None


@router.post(
    "/v1/search",
    response_model=SearchResponse,
    responses={
        400: {"description": "City search on a node without a hotel directory (code `no_directory`)."},
        404: {"description": "The hotel directory has no such city (code `unknown_city`; the detail names it)."},
        422: {"description": "Invalid search (the detail names each problem), e.g. not exactly one of hotel_ids, city"},
        503: {"description": "Search is not configured on this node."},
    },
)
async def search(body: SearchBody, request: Request) -> Any:
    """The cheapest offer per hotel across suppliers, with where each price came from and its age.

    Give exactly one of ``hotel_ids`` and ``city``: a city is resolved to its hotels by the hotel
    directory (the first ``directory.max_hotels`` in directory order) and the answer names it."""
    runtime = _runtime(request)
    if isinstance(runtime, JSONResponse):
        return runtime
    if problem := _unknown_suppliers(runtime, body.suppliers):
        return problem
    try:
        return await runtime.search(body, body.suppliers)
    except CitySearchUnavailable as exc:
        return _problem(400, "no_directory", str(exc))
    except UnknownCity as exc:
        return _problem(404, "unknown_city", str(exc))


@router.post(
    "/v1/search/book",
    responses={409: {"description": "The supplier refused: the offer is no longer available."},
               502: {"description": "The supplier did not answer."}},
)  # fmt: skip
async def book(body: BookBody, request: Request, session: Customer) -> JSONResponse:
    """Book an offer a search showed, for the session's customer; failures count against the
    supplier's breaker."""
    # Required (a booking spends the supplier's look-to-book budget); the supplier takes no customer.
    del session
    runtime = _runtime(request)
    if isinstance(runtime, JSONResponse):
        return runtime
    if problem := _unknown_suppliers(runtime, (body.supplier,)):
        return problem
    try:
        confirmed = await runtime.book(body.supplier, body.hotel_id, body.offer_id, body.offer_key())
    except SupplierCallError as exc:
        return _problem(502, "supplier_failed", str(exc))
    if not confirmed:
        return JSONResponse({"status": "failed", "detail": "the supplier refused the booking"}, status_code=409)
    return JSONResponse({"status": "confirmed"})


@router.get("/v1/search/stats", dependencies=[Operator])
async def stats(request: Request) -> Any:
    """This node's view: offer store backend, membership, breakers, rate limits, counters."""
    runtime = _runtime(request)
    if isinstance(runtime, JSONResponse):
        return runtime
    return await runtime.stats()


@router.post(wiring.FORWARD_PATH, include_in_schema=False, dependencies=[Internal])
async def fetch_forwarded(
    body: ForwardBody,
    request: Request,
    forwarded_by: Annotated[str | None, Header(alias=wiring.FORWARDED_HEADER)] = None,
) -> Any:
    runtime = _runtime(request)
    if isinstance(runtime, JSONResponse):
        return runtime
    if problem := _unknown_suppliers(runtime, (body.supplier,)):
        return problem
    try:
        occupancy = parse_occupancy(body.occupancy)
    except ValueError as exc:
        return _problem(422, "invalid", f"occupancy: {exc}")
    del occupancy, forwarded_by  # parsed only to validate; the batch key keeps the canonical text
    batch = BatchKey(body.supplier, body.checkin, body.nights, body.occupancy)
    return await runtime.serve_forwarded(batch, body.hotel_ids)


@router.get("/internal/v1/search/owner", include_in_schema=False, dependencies=[Internal])
async def owner(
    request: Request,
    supplier: Annotated[str, Query(pattern=ID_PATTERN)],
    checkin: date,
    nights: Annotated[int, Query(ge=1, le=60)],
) -> Any:
    runtime = _runtime(request)
    if isinstance(runtime, JSONResponse):
        return runtime
    node = runtime.owner(supplier, checkin, nights)
    ranking = runtime.membership.ring.rank(routing_key(supplier, checkin, nights))
    return {
        "owner": node.name if node else None,
        "ranking": [n.name for n in ranking],
        "healthy": [n.name for n in runtime.membership.healthy_nodes()],
        "asked": runtime.node,
    }
