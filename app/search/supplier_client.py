"""HTTP client of the suppliers' search and booking API (the contract of ``app.suppliersim.api``).

Failures are typed so the caller can feed the circuit breaker: ``SupplierTimeout`` (no answer in
time), ``SupplierRateLimited`` (429: the supplier's own limit; our limiter should never let
this happen), ``SupplierError`` (5xx, refused connection, malformed answer).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime

import httpx
from pydantic import ValidationError

from app.search.breaker_window import CallOutcome
from app.search.models import HotelAnswer, Occupancy, Offer


class SupplierCallError(Exception):
    """A supplier call that did not produce an answer; ``outcome`` is what the breaker records."""

    outcome = CallOutcome.ERROR


class SupplierError(SupplierCallError):
    pass


class SupplierTimeout(SupplierCallError):
    outcome = CallOutcome.TIMEOUT


class SupplierRateLimited(SupplierCallError):
    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SupplierClient:
    """Calls suppliers at ``base_urls[supplier]`` (e.g. ``http://127.1.0.71:8100``), each within its
    own ``timeouts[supplier]`` (else ``timeout``) seconds."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_urls: Mapping[str, str],
        *,
        timeout: float = 2.0,
        timeouts: Mapping[str, float] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._http = http
        self._base_urls = dict(base_urls)
        self._timeout = timeout
        self._timeouts = dict(timeouts or {})
        self._clock = clock

    @property
    def suppliers(self) -> tuple[str, ...]:
        return tuple(self._base_urls)

    async def search(
        self, supplier: str, hotel_ids: Sequence[str], checkin: date, nights: int, occupancy: Occupancy
    ) -> dict[str, HotelAnswer]:
        """One batch call for many hotels; every hotel asked is in the answer (else SupplierError)."""
        body = {
            "hotel_ids": list(hotel_ids),
            "checkin": checkin.isoformat(),
            "nights": nights,
            "rooms": [{"adults": r.adults, "children_ages": list(r.children_ages)} for r in occupancy.rooms],
        }
        response = await self._post(supplier, "search", body)
        fetched_at = datetime.fromtimestamp(self._clock(), UTC)
        try:
            results = response.json()["results"]
            answers = {
                item["hotel_id"]: HotelAnswer(
                    supplier=supplier,
                    hotel_id=item["hotel_id"],
                    fetched_at=fetched_at,
                    offers=tuple(Offer.model_validate(offer) for offer in item["offers"]),
                )
                for item in results
            }
        except (ValueError, KeyError, TypeError, ValidationError) as exc:
            raise SupplierError(f"{supplier}: malformed search answer: {exc}") from exc
        missing = [hotel for hotel in hotel_ids if hotel not in answers]
        if missing:
            raise SupplierError(f"{supplier}: the answer left out {len(missing)} hotels, e.g. {missing[0]}")
        return answers

    async def book(self, supplier: str, offer_id: str, hotel_id: str) -> bool:
        """True if the supplier confirmed; False if it refused (the offer was not really available)."""
        try:
            response = await self._post(supplier, "book", {"offer_id": offer_id, "hotel_id": hotel_id})
        except SupplierError as exc:
            if isinstance(exc.__cause__, httpx.HTTPStatusError) and exc.__cause__.response.status_code == 409:
                return False
            raise
        return response.json().get("status") == "confirmed"

    async def _post(self, supplier: str, action: str, body: dict[str, object]) -> httpx.Response:
        try:
            base = self._base_urls[supplier]
        except KeyError:
            raise SupplierError(f"no address configured for supplier {supplier!r}") from None
        url = f"{base}/v1/{supplier}/{action}"
        timeout = self._timeouts.get(supplier, self._timeout)
        try:
            response = await self._http.post(url, json=body, timeout=timeout)
        except httpx.TimeoutException as exc:
            raise SupplierTimeout(f"{supplier}: no answer within {timeout:g}s") from exc
        except httpx.HTTPError as exc:
            raise SupplierError(f"{supplier}: {action} call failed: {exc}") from exc
        if response.status_code == httpx.codes.TOO_MANY_REQUESTS:
            retry = float(response.headers.get("Retry-After", "1") or 1)
            raise SupplierRateLimited(f"{supplier}: over the supplier's capacity (429)", retry)
        try:
            response.raise_for_status()
        except httpx.HTTPStatusError as exc:
            raise SupplierError(f"{supplier}: {action} answered {response.status_code}") from exc
        return response
