"""Schemathesis explores the ticketing API in the published OpenAPI document, twice: with the
credentials each route declares (operator token, customer token, customer session), where no
input makes it answer 5xx and every route that declares a credential refuses the request once
it is taken away (`ignored_auth`); and with none, where no route answers 2xx without the
credential it declares (schemathesis_hooks.py) and none answers 5xx. Hotel search, tagged
"search", is fuzzed by its own tests; test_every_declared_credential_is_enforced covers its routes.

The coverage phase is left out: on Python 3.11 it intermittently fails inside Hypothesis
("AST constructor recursion depth mismatch") before sending anything, a tool error that says
nothing about the API. Fuzzing and stateful runs (create event, hold, book, cancel) remain."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from roadie.services import internal_tls

HERE = Path(__file__).parent
# The credentials as schemathesis reads them (by security scheme name), from the environment.
AUTH_CONFIG = """
[auth.openapi.operatorToken]
bearer = "${ROADIE_OPERATOR_TOKEN}"
[auth.openapi.customerToken]
bearer = "${ROADIE_CUSTOMER_TOKEN}"
[auth.openapi.customerSession]
api_key = "${ROADIE_CUSTOMER_SESSION}"
"""


def schemathesis(lb_url: str, cwd: Path, checks: str, env: dict[str, str], config: Path | None = None):
    tool = Path(sys.executable).parent / "schemathesis"
    options = ["--config-file", str(config)] if config else []
    return subprocess.run(
        [
            str(tool), *options, "run", f"{lb_url}/openapi.json",
            "--checks", checks,
            "--max-examples", "30",
            "--workers", "2",
            "--include-tag", "tickets",
            "--seed", "1",
            "--phases", "examples,fuzzing,stateful",
            # The load balancer's certificate, verified against the lab's CA (never 'false').
            "--tls-verify", str(internal_tls.files().ca_cert),
        ],
        capture_output=True, text=True, timeout=240, check=False, cwd=cwd, env={**os.environ, **env},
    )  # fmt: skip


def test_with_credentials_no_request_gets_a_server_error_and_auth_is_enforced(lb_url, tmp_path, api, client):
    session = api.open_session(client, "fuzz@example.org")
    config = tmp_path / "schemathesis.toml"
    config.write_text(AUTH_CONFIG)
    env = {
        "ROADIE_OPERATOR_TOKEN": api.auth.operator_token,
        "ROADIE_CUSTOMER_TOKEN": api.customer_token("fuzz@example.org"),
        "ROADIE_CUSTOMER_SESSION": session["X-Session-Id"],
    }
    result = schemathesis(lb_url, tmp_path, "not_a_server_error,ignored_auth", env, config)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]


def test_without_credentials_no_declared_route_answers_2xx(lb_url, tmp_path):
    hooks = {"SCHEMATHESIS_HOOKS": "schemathesis_hooks", "PYTHONPATH": str(HERE)}
    result = schemathesis(lb_url, tmp_path, "not_a_server_error,no_success_without_the_declared_credential", hooks)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]


@pytest.fixture(scope="module")
def schema(client):
    return client.get("/openapi.json").json()


def test_every_declared_credential_is_enforced(client, schema):
    """Every operation of the document that declares a credential, sent through the load
    balancer without it and with a wrong one: 401 {"code", "detail"}, never 2xx."""
    secured = [
        (method, path)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if operation.get("security")
    ]
    assert len(secured) >= 10, secured
    for method, path in secured:
        url = path.replace("{event_id}", "1").replace("{booking_id}", "1")
        for headers in ({}, {"Authorization": "Bearer not-the-token", "X-Session-Id": "not-a-session"}):
            answer = client.request(method, url, headers=headers, json={} if method == "post" else None)
            assert answer.status_code == 401, (method, path, headers, answer.text)
            assert set(answer.json()) == {"code", "detail"}


def test_the_public_load_balancer_does_not_serve_internal_routes(client, operator):
    for method, path in (("post", "/internal/v1/search/fetch"), ("get", "/internal/v1/search/owner")):
        answer = client.request(method, path, headers=operator)  # even with the operator token
        assert answer.status_code == 404 and answer.json()["code"] == "not_found", answer.text
