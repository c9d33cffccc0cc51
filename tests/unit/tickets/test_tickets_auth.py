"""Who may call what (app/common/auth.py), through the app's own routes and OpenAPI document:
customer tokens from the trusted issuer only, every route declaring a credential refuses a
request without it (401, {"code", "detail"}), and a booking answers only its own customer (403).

Stand-ins, for what cannot run in a unit test: `DictRedis` for Redis (two commands) and
`BookingsWithoutPostgres` for the database behind Bookings; the ownership rule they apply is the
real one (`require_owner`), and the real Bookings calls it the same way (app/tickets/booking.py).
"""

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.common.auth import AuthError, issue_customer_token, require_owner, verify_customer_token
from app.common.settings import AuthSettings, Settings
from app.main import create_app
from app.tickets.models import Booking, BookingCreate
from app.tickets.sessions import Sessions
from tests.unit.tickets.test_tickets_settings import VALID

AUTH = AuthSettings.model_validate(VALID["auth"])
OPERATOR = {"Authorization": f"Bearer {AUTH.operator_token}"}
# Every route that needs a credential, with the scheme it declares (README "Security").
PROTECTED = {
    ("post", "/v1/events"): "operatorToken",
    ("get", "/v1/events/{event_id}/stats"): "operatorToken",
    ("get", "/metrics"): "operatorToken",
    ("get", "/v1/search/stats"): "operatorToken",
    ("post", "/v1/sessions"): "customerToken",
    ("post", "/v1/holds"): "customerSession",
    ("post", "/v1/bookings"): "customerSession",
    ("get", "/v1/bookings/{booking_id}"): "customerSession",
    ("post", "/v1/bookings/{booking_id}/cancel"): "customerSession",
    ("post", "/v1/search/book"): "customerSession",
}


def token(subject: str = "alice", **changes: Any) -> str:
    claims = {
        "issuer": AUTH.customer_issuer,
        "key": AUTH.customer_issuer_key,
        "audience": AUTH.customer_audience,
        "ttl": 600,
    }
    return issue_customer_token(subject=subject, **{**claims, **changes})


# --- customer tokens ---------------------------------------------------------------------


def test_a_token_of_the_issuer_names_its_customer():
    claims = verify_customer_token(token("alice"), AUTH)
    assert claims.subject == "alice" and claims.expires_at > time.time()


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (token(key="another-issuers-key-of-32-chars!"), "signature does not verify"),
        (token(issuer="someone-else"), "issuer is not"),
        (token(audience="another-service"), "audience"),
        (token(ttl=60, now=time.time() - 3600), "expired"),
        (token(subject=""), "sub must be"),
        (token(subject="x" * 201), "sub must be"),
        ("not-a-token", "malformed"),
        ("a." * 3000, "malformed"),
    ],
    ids=["wrong-key", "wrong-issuer", "wrong-audience", "expired", "no-subject", "long-subject", "garbage", "huge"],
)
def test_a_token_the_issuer_did_not_make_for_us_is_refused(bad, message):
    with pytest.raises(AuthError, match=message) as refused:
        verify_customer_token(bad, AUTH)
    assert refused.value.status == 401


def test_an_unsigned_token_is_refused():
    header, claims, _ = token().split(".")
    with pytest.raises(AuthError, match="signature"):
        verify_customer_token(f"{header}.{claims}.", AUTH)


# --- the routes --------------------------------------------------------------------------


class DictRedis:
    """Stand-in for Redis' GET and SET EX (the app's client decodes answers to str)."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.ttl: dict[str, int] = {}

    async def set(self, key: str, value: str, ex: int) -> bool:
        self.values[key], self.ttl[key] = value, ex
        return True

    async def get(self, key: str) -> str | None:
        return self.values.get(key)


@dataclass
class BookingsWithoutPostgres:
    """Stand-in for Bookings' database: keeps bookings in a dict, applies the real ownership rule."""

    rows: dict[int, Booking] = field(default_factory=dict)

    async def book(self, body: BookingCreate, key: str, session_id: str, customer: str) -> Any:
        booking = Booking(id=len(self.rows) + 1, event_id=body.event_id or 0, status="confirmed",
                          seat_ids=body.seat_ids or [], amount=Decimal(10), customer=customer,
                          created_at=datetime.now(UTC))  # fmt: skip
        self.rows[booking.id] = booking
        return type("Result", (), {"booking": booking, "replayed": False})()

    async def get(self, booking_id: int, customer: str) -> Booking:
        booking = self.rows[booking_id]
        require_owner(booking.customer, customer, f"booking {booking_id}")
        return booking

    async def cancel(self, booking_id: int, customer: str) -> Booking:
        booking = await self.get(booking_id, customer)
        self.rows[booking_id] = booking.model_copy(update={"status": "cancelled"})
        return self.rows[booking_id]


@pytest.fixture
def app():
    application = create_app(Settings.model_validate(VALID))
    redis = DictRedis()
    application.state.sessions = Sessions(redis, ttl=3600)
    application.state.tickets = type("Tickets", (), {"sessions": application.state.sessions,
                                                     "bookings": BookingsWithoutPostgres()})()  # fmt: skip
    application.state.redis = redis
    return application


@pytest.fixture
def client(app):
    return TestClient(app)  # no lifespan: no database or Redis is opened


def session_of(client: TestClient, customer: str) -> dict[str, str]:
    opened = client.post("/v1/sessions", headers={"Authorization": f"Bearer {token(customer)}"})
    assert opened.status_code == 201, opened.text
    assert opened.json()["customer"] == customer
    return {"X-Session-Id": opened.json()["id"]}


def test_the_openapi_document_declares_each_routes_credential(app):
    schema = app.openapi()
    assert set(schema["components"]["securitySchemes"]) == {"operatorToken", "customerToken", "customerSession"}
    assert schema["components"]["securitySchemes"]["customerSession"] == {
        "type": "apiKey", "in": "header", "name": "X-Session-Id",
        "description": "A session from POST /v1/sessions: holds, bookings, search bookings.",
    }  # fmt: skip
    declared = {
        (method, path): next(iter(requirement))
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        for requirement in operation.get("security", [])
    }
    assert declared == PROTECTED


def _call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> Any:
    url = path.replace("{event_id}", "1").replace("{booking_id}", "1")
    return client.request(method, url, headers=headers, json={} if method == "post" else None)


@pytest.mark.parametrize(("method", "path"), sorted(PROTECTED))
def test_no_route_answers_without_the_credential_it_declares(client, method, path):
    for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"X-Session-Id": ""}):
        response = _call(client, method, path, headers)
        assert response.status_code == 401, (headers, response.text)
        assert set(response.json()) == {"code", "detail"}
        assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path"), sorted(k for k, v in PROTECTED.items() if v == "operatorToken"))
def test_a_customer_session_or_token_is_no_operator_credential(client, method, path):
    session = session_of(client, "alice")
    for headers in (session, {"Authorization": f"Bearer {token('alice')}"}):
        assert _call(client, method, path, headers).status_code == 401


def test_the_operator_token_opens_the_operator_routes(client):
    assert client.get("/metrics", headers=OPERATOR).status_code == 200
    # Past authentication: the event body is validated (and would be created).
    assert client.post("/v1/events", headers=OPERATOR, json={}).json()["code"] == "invalid"


def test_internal_routes_take_the_operator_token_and_refuse_anything_else(client):
    for path in ("/internal/v1/search/owner?supplier=fast&checkin=2026-12-31&nights=1",):
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"Authorization": "Bearer n" + "x" * 31}).status_code == 401
        assert client.get(path, headers=OPERATOR).json()["code"] == "search_off"  # authenticated, search off here
    assert client.post("/internal/v1/search/fetch", json={}).status_code == 401


def test_a_session_is_bound_to_the_tokens_customer_and_expires_with_it(app, client):
    short = token("bob", ttl=120)
    opened = client.post("/v1/sessions", headers={"Authorization": f"Bearer {short}"}, json={"customer": "mallory"})
    assert opened.status_code == 201 and opened.json()["customer"] == "bob", "the body cannot choose the customer"
    assert 100 <= opened.json()["expires_in"] <= 120
    assert app.state.redis.ttl[f"tickets:session:{opened.json()['id']}"] == opened.json()["expires_in"]


def test_an_unknown_session_is_refused(client):
    response = client.post("/v1/holds", headers={"X-Session-Id": "made-up"}, json={"event_id": 1, "seat_ids": [1]})
    assert response.status_code == 401 and response.json()["code"] == "unknown_session"


def test_a_booking_answers_only_its_own_customer(client):
    alice, bob = session_of(client, "alice"), session_of(client, "bob")
    order = {"event_id": 1, "seat_ids": [7]}
    bought = client.post("/v1/bookings", headers={**alice, "Idempotency-Key": "k1"}, json=order)
    assert bought.status_code == 201 and bought.json()["customer"] == "alice"
    booking = bought.json()["id"]
    assert client.get(f"/v1/bookings/{booking}", headers=alice).status_code == 200
    for method, path in (("get", f"/v1/bookings/{booking}"), ("post", f"/v1/bookings/{booking}/cancel")):
        refused = client.request(method, path, headers=bob)
        assert refused.status_code == 403, refused.text
        assert refused.json() == {"code": "forbidden", "detail": f"booking {booking} belongs to another customer"}
    assert client.post(f"/v1/bookings/{booking}/cancel", headers=alice).json()["status"] == "cancelled"


def test_a_body_cannot_name_the_buyer(client):
    alice = session_of(client, "alice")
    response = client.post("/v1/bookings", headers={**alice, "Idempotency-Key": "k2"},
                           json={"event_id": 1, "seat_ids": [8], "customer": "bob"})  # fmt: skip
    assert response.status_code == 422


@pytest.mark.parametrize("owner", [None, "bob", "alic", "alice "])
def test_ownership_is_exact_and_an_ownerless_hold_answers_nobody(owner):
    with pytest.raises(AuthError) as refused:
        require_owner(owner, "alice", "hold 5")
    assert refused.value.status == 403
    require_owner("alice", "alice", "hold 5")
