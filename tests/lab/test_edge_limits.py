"""Limits at the edge (the app load balancer, role `loadbalancer`): one abusive client is answered
429 with Retry-After while another is served normally, per source address (request rate,
concurrent connections) and per customer session (request rate, whatever address it comes
from); oversized headers and bodies are refused before they reach a node.

The limits are the lab's inventory values, read from the load balancer's service manifest. The
controller (127.0.0.1) is exempt in the lab, so each client here sends from a loopback address
of its own: the load balancer's address with another last byte (no lab host has one above 100).
"""

import time
from collections import Counter

import httpx
import pytest

from roadie.services import internal_tls
from tests.support import lb_url, manifest

PATH = "/v1/cities"  # public, cheap and micro-cached: the nodes barely notice the abuse


@pytest.fixture(scope="module")
def edge(lab, running_hosts) -> dict:
    entry = manifest(lab.group("lb")[0], "loadbalancer")
    limits = {key: value if key == "exempt_sources" else int(value) for key, value in entry["limits"].items()}
    # Each test sends from addresses of its own; an earlier run's rates from them must age out
    # first (HAProxy's rate weighs in the previous window too: two windows clear it).
    time.sleep(2 * limits["window_seconds"])
    return {"url": lb_url(lab), "address": entry["address"], **limits}


def source(edge: dict, last_byte: int) -> str:
    assert last_byte > 100, "lab hosts use the last bytes 11..81"
    return ".".join([*edge["address"].split(".")[:3], str(last_byte)])


def client_from(edge: dict, last_byte: int, **headers: str) -> httpx.Client:
    # A transport of its own verifies by itself: the client's `verify` would not reach it.
    transport = httpx.HTTPTransport(local_address=source(edge, last_byte), verify=internal_tls.http_verify())
    return httpx.Client(base_url=edge["url"], transport=transport, headers=headers, timeout=10)


def test_an_abusive_source_is_limited_while_another_is_served(edge):
    with client_from(edge, 201) as abusive, client_from(edge, 202) as polite:
        answers = [abusive.get(PATH) for _ in range(edge["source_requests"] + 50)]
        codes = Counter(a.status_code for a in answers)
        assert codes[200] <= edge["source_requests"] + 1, codes
        assert codes[429] >= 49, codes
        limited = next(a for a in answers if a.status_code == 429)
        assert limited.headers["Retry-After"] == str(edge["window_seconds"])
        assert limited.json()["code"] == "rate_limited" and "from this address" in limited.json()["detail"]
        # Meanwhile another client, at a human pace, is served normally.
        served = []
        for _ in range(10):
            served.append(polite.get(PATH).status_code)
            time.sleep(0.05)
        assert served == [200] * 10
        assert abusive.get(PATH).status_code == 429, "the abusive client is still limited"


def test_an_abusive_session_is_limited_from_any_address(edge, api):
    with client_from(edge, 211) as opener:
        abusive = api.open_session(opener, "abusive@example.org")
        polite = api.open_session(opener, "polite@example.org")
    # Spread over three addresses, each under the per-source limit: only the session adds up.
    clients = [client_from(edge, 212 + i, **abusive) for i in range(3)]
    try:
        per_client = (edge["session_requests"] + 30) // 3 + 1
        assert per_client < edge["source_requests"]
        codes = Counter(c.get(PATH).status_code for _ in range(per_client) for c in clients)
        assert codes[429] >= 25, codes
        limited = clients[0].get(PATH)
        assert limited.status_code == 429 and "in this session" in limited.json()["detail"]
        assert limited.headers["Retry-After"] == str(edge["window_seconds"])
        with client_from(edge, 213, **polite) as other:
            assert other.get(PATH).status_code == 200, "another session from the same address is served"
    finally:
        for c in clients:
            c.close()


def test_too_many_connections_from_one_address_are_refused(edge):
    clients = [client_from(edge, 221) for _ in range(edge["source_connections"] + 5)]
    try:
        # Keep-alive: each client holds its connection open after its first request.
        codes = [c.get(PATH).status_code for c in clients]
        assert codes[: edge["source_connections"]] == [200] * edge["source_connections"], codes
        assert set(codes[edge["source_connections"] :]) == {429}, codes
        with client_from(edge, 222) as other:
            assert other.get(PATH).status_code == 200
    finally:
        for c in clients:
            c.close()


def test_oversized_headers_and_bodies_are_refused_at_the_edge(edge):
    with client_from(edge, 231) as client:
        big_header = client.get(PATH, headers={"X-Padding": "x" * (edge["max_header_bytes"] + 1)})
        assert big_header.status_code == 431 and big_header.json()["code"] == "headers_too_large"
        big_body = client.post("/v1/search", content=b"{" + b" " * edge["max_body_bytes"] + b"}",
                               headers={"Content-Type": "application/json"})  # fmt: skip
        assert big_body.status_code == 413 and big_body.json()["code"] == "body_too_large"
        chunked = client.post("/v1/search", content=iter([b"{}"]), headers={"Content-Type": "application/json"})
        assert chunked.status_code == 411
        assert client.get(PATH).status_code == 200, "the same client, within the limits, is served"


def test_the_controller_is_exempt_in_the_lab(edge):
    assert "127.0.0.1/32" in edge["exempt_sources"]
    with httpx.Client(base_url=edge["url"], timeout=10, verify=internal_tls.http_verify()) as client:
        codes = Counter(client.get(PATH).status_code for _ in range(edge["source_requests"] + 20))
    assert codes == Counter({200: edge["source_requests"] + 20})
