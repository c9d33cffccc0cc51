"""Who may call what: the operators' bearer token, customer tokens from a trusted issuer, and the
customer sessions they open (README "Security" lists every route with its credential).

- **Operator** (`operatorToken`): `Authorization: Bearer <auth.operator_token>` on creating
  events, /metrics, /v1/search/stats and everything under /internal/ (the search's node-to-node
  routes also take the search's own node token, see app/search/api.py).
- **Customer token** (`customerToken`): a signed token, JWT compact form with HS256 only
  (`header.payload.signature`, each base64url), issued by `auth.customer_issuer` with the key
  `auth.customer_issuer_key`; claims `iss`, `sub` (the customer), `aud`, `exp` (and `iat`).
  It is accepted by one route, POST /v1/sessions, which opens a session bound to `sub`.
- **Customer session** (`customerSession`): `X-Session-Id` from POST /v1/sessions, needed to
  hold, buy, read or cancel; a hold or booking answers only its own customer (403 otherwise).

HMAC and not an asymmetric signature: the standard library has it, and the issuer and the app
share one secret kept like the others (lab secrets file, Ansible Vault). A token cannot outlive
its `exp`, and a session opened with it expires no later than the token.

Failures raise `AuthError` (401 without or with a bad credential, 403 for the wrong owner); the
app answers them as {"code", "detail"} like every other error.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from app.common.settings import AuthSettings

SESSION_HEADER = "X-Session-Id"
# Far above any real token (a few hundred bytes): a longer one is refused before it is decoded.
MAX_TOKEN_LENGTH = 4096
MAX_SUBJECT_LENGTH = 200
TOKEN_HEADER = {"alg": "HS256", "typ": "JWT"}

OPERATOR_SCHEME = HTTPBearer(
    scheme_name="operatorToken",
    description="The operators' token (lab: secrets.yml `app_operator`; production: Ansible Vault).",
    auto_error=False,
)
CUSTOMER_TOKEN_SCHEME = HTTPBearer(
    scheme_name="customerToken",
    bearerFormat="JWT (HS256) from the configured customer issuer",
    description="A customer token from the trusted issuer; it opens a session (POST /v1/sessions).",
    auto_error=False,
)
SESSION_SCHEME = APIKeyHeader(
    name=SESSION_HEADER,
    scheme_name="customerSession",
    description="A session from POST /v1/sessions: holds, bookings, search bookings.",
    auto_error=False,
)


class AuthError(Exception):
    """A request without the credential its route needs (401) or for what is not its own (403)."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"} if self.status == 401 else {}


def unauthenticated(detail: str) -> AuthError:
    return AuthError(401, "unauthenticated", detail)


def forbidden(detail: str) -> AuthError:
    return AuthError(403, "forbidden", detail)


@dataclass(frozen=True)
class CustomerClaims:
    subject: str
    expires_at: float


@dataclass(frozen=True)
class CustomerSession:
    id: str
    customer: str


class SessionStore(Protocol):
    """What the session check needs (app.tickets.sessions.Sessions has it)."""

    async def customer(self, session_id: str | None) -> str | None: ...


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: str, signing_input: str) -> str:
    return _b64(hmac.new(key.encode(), signing_input.encode("ascii"), hashlib.sha256).digest())


def issue_customer_token(
    *, issuer: str, key: str, subject: str, audience: str, ttl: float, now: float | None = None
) -> str:
    """A customer token as the issuer makes it (the lab's issuer: roadie.apiauth)."""
    issued = time.time() if now is None else now
    claims = {"iss": issuer, "sub": subject, "aud": audience, "iat": int(issued), "exp": int(issued + ttl)}
    signing_input = f"{_b64(json.dumps(TOKEN_HEADER).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_sign(key, signing_input)}"


def verify_customer_token(token: str, settings: AuthSettings, now: float | None = None) -> CustomerClaims:
    """The token's customer, if the configured issuer signed it for this audience and it is live."""
    if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
        raise unauthenticated("malformed customer token")
    header_part, claims_part, signature = token.split(".")
    # The signature first: nothing of an unsigned token is trusted, not even its header.
    if not hmac.compare_digest(_sign(settings.customer_issuer_key, f"{header_part}.{claims_part}"), signature):
        raise unauthenticated("customer token signature does not verify")
    try:
        header = json.loads(_unb64(header_part))
        claims = json.loads(_unb64(claims_part))
    except (ValueError, binascii.Error):
        raise unauthenticated("malformed customer token") from None
    if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(claims, dict):
        raise unauthenticated("customer token: only HS256 tokens with a claims object are accepted")
    return _checked_claims(claims, settings, time.time() if now is None else now)


def _checked_claims(claims: dict[str, Any], settings: AuthSettings, now: float) -> CustomerClaims:
    if claims.get("iss") != settings.customer_issuer:
        raise unauthenticated(f"customer token: issuer is not {settings.customer_issuer!r}")
    if claims.get("aud") != settings.customer_audience:
        raise unauthenticated(f"customer token: audience is not {settings.customer_audience!r}")
    expires = claims.get("exp")
    if not isinstance(expires, int | float) or isinstance(expires, bool):
        raise unauthenticated("customer token: exp (expiry, seconds since the epoch) is required")
    if now > expires + settings.clock_skew_seconds:
        raise unauthenticated("customer token expired")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not 0 < len(subject) <= MAX_SUBJECT_LENGTH or not subject.isprintable():
        raise unauthenticated(f"customer token: sub must be a printable customer id of 1..{MAX_SUBJECT_LENGTH}")
    return CustomerClaims(subject=subject, expires_at=float(expires))


def token_matches(credentials: HTTPAuthorizationCredentials | None, expected: str) -> bool:
    """Constant-time comparison of a bearer token with the expected one."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(credentials.credentials.encode(), expected.encode())


def settings_of(request: Request) -> AuthSettings:
    settings: AuthSettings | None = getattr(request.app.state, "auth", None)
    if settings is None:  # fail closed: an app built without auth settings serves no protected route
        raise AuthError(503, "auth_off", "authentication is not configured on this node")
    return settings


async def require_operator(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(OPERATOR_SCHEME)]
) -> None:
    if not token_matches(credentials, settings_of(request).operator_token):
        raise unauthenticated("this route needs the operator token (Authorization: Bearer ...)")


async def customer_claims(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(CUSTOMER_TOKEN_SCHEME)]
) -> CustomerClaims:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthenticated("a customer token is required (Authorization: Bearer ...)")
    return verify_customer_token(credentials.credentials, settings_of(request))


async def customer_session(
    request: Request, session_id: Annotated[str | None, Depends(SESSION_SCHEME)]
) -> CustomerSession:
    if not session_id:
        raise unauthenticated(f"a customer session is required ({SESSION_HEADER} from POST /v1/sessions)")
    sessions: SessionStore = request.app.state.sessions
    customer = await sessions.customer(session_id)
    assert customer is not None  # a session id was given: the store answers its customer or raises 401
    return CustomerSession(id=session_id, customer=customer)


def require_owner(owner: str | None, customer: str, what: str) -> None:
    """A hold or booking answers only its own customer (one made before sessions were
    required has no owner and answers nobody)."""
    if owner is None or not hmac.compare_digest(owner.encode(), customer.encode()):
        raise forbidden(f"{what} belongs to another customer")


Operator = Depends(require_operator)
Customer = Annotated[CustomerSession, Depends(customer_session)]
CustomerToken = Annotated[CustomerClaims, Depends(customer_claims)]
