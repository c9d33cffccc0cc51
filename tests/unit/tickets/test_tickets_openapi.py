"""The app factory composes the ticketing API and publishes an OpenAPI document (no I/O)."""

from app.common.settings import Settings
from app.main import create_app
from tests.unit.tickets.test_tickets_settings import VALID


def test_openapi_lists_the_ticketing_and_operational_endpoints():
    schema = create_app(Settings.model_validate(VALID)).openapi()
    paths = set(schema["paths"])
    assert {
        "/v1/cities",
        "/v1/events",
        "/v1/events/{event_id}",
        "/v1/events/{event_id}/seats",
        "/v1/holds",
        "/v1/bookings",
        "/v1/bookings/{booking_id}/cancel",
        "/healthz",
        "/readyz",
        "/metrics",
    } <= paths


def test_booking_documents_its_conflict_and_idempotency_answers():
    operation = create_app(Settings.model_validate(VALID)).openapi()["paths"]["/v1/bookings"]["post"]
    assert {"200", "201", "400", "409", "422"} <= set(operation["responses"])
    assert "Idempotency-Key" in {p["name"] for p in operation["parameters"]}
