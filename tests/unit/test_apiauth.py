"""roadie's API credentials (roadie.apiauth): what it signs, the app verifies; a refused session
names the customer and the answer."""

import httpx
import pytest

from app.common.auth import verify_customer_token
from app.common.settings import AuthSettings
from roadie.apiauth import ApiCredentials, session_headers
from roadie.errors import RoadieError

AUTH = AuthSettings(operator_token="o" * 32, customer_issuer="roadie", customer_issuer_key="k" * 32)


def test_a_lab_customer_token_is_one_the_app_accepts():
    api = ApiCredentials(AUTH)
    assert verify_customer_token(api.customer_token("alice"), AUTH).subject == "alice"
    assert api.operator_headers() == {"Authorization": f"Bearer {'o' * 32}"}


def test_a_token_signed_with_another_key_is_refused_by_the_app():
    other = ApiCredentials(AUTH.model_copy(update={"customer_issuer_key": "x" * 32}))
    with pytest.raises(Exception, match="signature"):
        verify_customer_token(other.customer_token("alice"), AUTH)


def test_a_refused_session_is_an_error_naming_the_customer_and_the_answer():
    answer = httpx.Response(401, json={"code": "unauthenticated", "detail": "customer token expired"})
    with pytest.raises(RoadieError, match=r"'alice' answered 401: .*customer token expired"):
        session_headers(answer, "alice")
    assert session_headers(httpx.Response(201, json={"id": "abc"}), "alice") == {"X-Session-Id": "abc"}
