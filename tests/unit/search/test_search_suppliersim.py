"""The supplier simulator through FastAPI's TestClient: capacity (429, counted), modes, determinism."""

import warnings

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette deprecates httpx in its TestClient
    from fastapi.testclient import TestClient

from app.suppliersim.__main__ import main as simulator_main
from app.suppliersim.api import create_app
from app.suppliersim.config import SimulatorConfig

CONFIG = {
    "seed": 7,
    "suppliers": [
        {
            "name": "slow",
            "latency_ms": 0,
            "capacity": {"calls": 10, "per_seconds": 60},
            "max_batch_hotels": 5,
        },
        {"name": "fast", "latency_ms": 0, "unavailable_share": 0.5},
        {"name": "flaky", "latency_ms": 0, "error_rate": 1.0},
    ],
}
BODY = {"hotel_ids": ["h1", "h2", "h3"], "checkin": "2030-06-01", "nights": 7, "rooms": [{"adults": 2}]}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def client(clock):
    app = create_app(SimulatorConfig.model_validate(CONFIG), clock=clock, sleep=no_sleep)
    with TestClient(app) as test_client:
        yield test_client


def search(client, supplier, **changes):
    return client.post(f"/v1/{supplier}/search", json={**BODY, **changes}).json()["results"]


def stats(client, supplier):
    return client.get("/stats").json()["suppliers"][supplier]


def test_capacity_answers_429_over_the_limit_and_counts_it(client, clock):
    codes = [client.post("/v1/slow/search", json=BODY).status_code for _ in range(13)]
    assert codes == [200] * 10 + [429] * 3
    s = stats(client, "slow")
    assert (s["calls"], s["accepted"], s["over_limit"], s["peak_calls_in_window"]) == (13, 10, 3, 10)
    rejected = client.post("/v1/slow/search", json=BODY)
    assert rejected.headers["retry-after"] == "60"
    assert "over capacity (10 calls per 60s)" in rejected.json()["detail"]


def test_the_capacity_window_slides(client, clock):
    for second in range(10):
        clock.now = second * 6.0  # one call every 6 s: 10 in the first 54 s
        assert client.post("/v1/slow/search", json=BODY).status_code == 200
    clock.now = 59.9
    assert client.post("/v1/slow/search", json=BODY).status_code == 429
    clock.now = 60.0  # the call at t=0 left the window (t-60, t]
    assert client.post("/v1/slow/search", json=BODY).status_code == 200
    clock.now = 61.0
    assert client.post("/v1/slow/search", json=BODY).status_code == 429
    assert stats(client, "slow")["over_limit"] == 2


def test_a_batch_answers_every_hotel(client):
    answer = client.post("/v1/fast/search", json={**BODY, "hotel_ids": [f"h{i}" for i in range(40)]}).json()
    assert [r["hotel_id"] for r in answer["results"]] == [f"h{i}" for i in range(40)]
    available = [r for r in answer["results"] if r["available"]]
    assert 0 < len(available) < 40
    assert all(r["offers"] for r in available)
    assert all(not r["offers"] for r in answer["results"] if not r["available"])
    assert stats(client, "fast")["largest_batch"] == 40


def test_batches_larger_than_the_supplier_takes_are_refused(client):
    response = client.post("/v1/slow/search", json={**BODY, "hotel_ids": [f"h{i}" for i in range(6)]})
    assert response.status_code == 400
    assert "at most 5 hotels per call" in response.json()["detail"]


def test_prices_are_deterministic_whatever_the_batch_and_room_order(client):
    rooms_a = [{"adults": 2, "children_ages": [9, 4]}, {"adults": 1}]
    rooms_b = [{"adults": 1}, {"adults": 2, "children_ages": [4, 9]}]
    many = [f"h{i}" for i in range(30)]
    one = client.post("/v1/fast/search", json={**BODY, "rooms": rooms_a, "hotel_ids": many}).json()["results"]
    two = client.post("/v1/fast/search", json={**BODY, "rooms": rooms_b, "hotel_ids": many[::-1]}).json()["results"]
    by_hotel = {r["hotel_id"]: r for r in two}
    assert all(r == by_hotel[r["hotel_id"]] for r in one)
    fresh = TestClient(create_app(SimulatorConfig.model_validate(CONFIG), sleep=no_sleep))
    again = fresh.post("/v1/fast/search", json={**BODY, "rooms": rooms_a, "hotel_ids": many}).json()["results"]
    assert again == one


def test_prices_depend_on_the_stay_and_children_ages(client):
    def cheapest(**changes):
        body = {**BODY, "hotel_ids": [f"h{i}" for i in range(30)], **changes}
        results = client.post("/v1/fast/search", json=body).json()["results"]
        return {r["hotel_id"]: min(o["price_minor"] for o in r["offers"]) for r in results if r["offers"]}

    week = cheapest(nights=7)
    one_night = cheapest(nights=1)
    hotels = set(week) & set(one_night)
    assert hotels
    assert all(week[h] < 7 * one_night[h] for h in hotels)  # a week costs less than seven single nights
    toddler = cheapest(rooms=[{"adults": 2, "children_ages": [1]}])
    teen = cheapest(rooms=[{"adults": 2, "children_ages": [15]}])
    assert any(toddler[h] != teen[h] for h in set(toddler) & set(teen))


def test_all_unavailable_mode_switched_at_runtime(client):
    switched = client.post("/admin/suppliers/fast/mode", json={"all_unavailable": True})
    assert switched.json()["all_unavailable"] is True
    results = client.post("/v1/fast/search", json={**BODY, "hotel_ids": [f"h{i}" for i in range(20)]}).json()
    assert not any(r["available"] for r in results["results"])
    client.post("/admin/suppliers/fast/mode", json={"all_unavailable": False})
    results = client.post("/v1/fast/search", json={**BODY, "hotel_ids": [f"h{i}" for i in range(20)]}).json()
    assert any(r["available"] for r in results["results"])


def test_booking_fails_mode(client):
    assert client.post("/v1/fast/book", json={"offer_id": "x", "hotel_id": "h1"}).json()["status"] == "confirmed"
    client.post("/admin/suppliers/fast/mode", json={"booking_fails": True})
    failed = client.post("/v1/fast/book", json={"offer_id": "x", "hotel_id": "h1"})
    assert failed.status_code == 409
    assert failed.json()["status"] == "failed"
    s = stats(client, "fast")
    assert (s["bookings"], s["booking_failures"]) == (2, 1)


def test_error_rate_answers_503_and_counts(client):
    response = client.post("/v1/flaky/search", json=BODY)
    assert response.status_code == 503
    assert stats(client, "flaky")["errors"] == 1
    client.post("/admin/suppliers/flaky/mode", json={"error_rate": 0.0})
    assert client.post("/v1/flaky/search", json=BODY).status_code == 200


def test_bad_mode_and_unknown_supplier(client):
    assert client.post("/admin/suppliers/fast/mode", json={"error_rate": 2}).status_code == 422
    missing = client.post("/v1/nope/search", json=BODY)
    assert missing.status_code == 404
    assert "known: fast, flaky, slow" in missing.json()["detail"]


def test_reset_and_metrics(client):
    for _ in range(11):
        client.post("/v1/slow/search", json=BODY)
    metrics = client.get("/metrics").text
    assert 'suppliersim_over_limit_calls_total{supplier="slow"} 1.0' in metrics
    assert 'suppliersim_calls_total{outcome="ok",supplier="slow"} 10.0' in metrics
    client.post("/admin/reset")
    assert stats(client, "slow")["calls"] == 0
    assert client.post("/v1/slow/search", json=BODY).status_code == 200
    assert client.get("/healthz").json() == {"status": "ok"}


def test_config_file_and_bad_config(tmp_path, capsys):
    good = tmp_path / "sim.json"
    good.write_text('{"suppliers": [{"name": "a"}]}')
    assert SimulatorConfig.load(good).suppliers[0].name == "a"
    bad = tmp_path / "bad.yaml"
    bad.write_text("suppliers:\n  - {name: a}\n  - {name: a}\n")
    assert simulator_main(["--config", str(bad)]) == 2
    assert "supplier names must be unique (repeated: a)" in capsys.readouterr().err
