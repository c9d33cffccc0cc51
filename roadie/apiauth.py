"""Credentials for calling the app's API, as every roadie client needs them (drills, benchmarks,
chaos, tests): the operator token, and customer sessions opened with tokens from the lab's own
customer issuer (app.common.auth signs them with the issuer key the app trusts).

In the lab the values come from the app's rendered settings (app.yml on the first app host,
where role `app` put the lab's secrets `app_operator` and `app_customer_issuer`), so a client
and the app can never disagree about the issuer's name, key or audience.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import yaml

from app.common.auth import SESSION_HEADER, issue_customer_token
from app.common.settings import AuthSettings
from roadie.errors import RoadieError
from roadie.lab import hosts
from roadie.lab.inventory import Lab
from roadie.services import registry

# A customer token lives this long (a session opened with it, at most as long).
CUSTOMER_TOKEN_TTL_S = 3600.0


@dataclass(frozen=True)
class ApiCredentials:
    auth: AuthSettings

    @classmethod
    def for_lab(cls, lab: Lab) -> ApiCredentials:
        """The credentials of the lab's app, from its rendered settings."""
        for host in lab.group("app"):
            entry = registry.find(host, "app")
            if entry is not None:
                config = entry.text("config")
                settings = yaml.safe_load(hosts.on_disk(host, config).read_text()) or {}
                if "auth" not in settings:
                    raise RoadieError(f"{config} on {host.name} has no auth settings: redeploy the app")
                return cls(AuthSettings.model_validate(settings["auth"]))
        raise RoadieError("the app is not deployed: no app host has an app service")

    def operator_headers(self) -> dict[str, str]:
        """Headers of an operator's request (creating events, /metrics, /internal/, search stats)."""
        return {"Authorization": f"Bearer {self.auth.operator_token}"}

    def customer_token(self, customer: str, ttl: float = CUSTOMER_TOKEN_TTL_S) -> str:
        """A token of the lab's customer issuer for `customer`."""
        return issue_customer_token(
            issuer=self.auth.customer_issuer,
            key=self.auth.customer_issuer_key,
            subject=customer,
            audience=self.auth.customer_audience,
            ttl=ttl,
        )

    def customer_headers(self, customer: str) -> dict[str, str]:
        """Headers of POST /v1/sessions for `customer`."""
        return {"Authorization": f"Bearer {self.customer_token(customer)}"}

    def open_session(self, client: httpx.Client, customer: str) -> dict[str, str]:
        """A session for `customer` (client: the app's base URL): the headers its holds,
        bookings and search bookings send."""
        return session_headers(client.post("/v1/sessions", headers=self.customer_headers(customer)), customer)

    async def open_session_async(self, client: httpx.AsyncClient, customer: str) -> dict[str, str]:
        response = await client.post("/v1/sessions", headers=self.customer_headers(customer))
        return session_headers(response, customer)


def session_headers(response: httpx.Response, customer: str) -> dict[str, str]:
    """The session header from POST /v1/sessions' answer; an error names the customer and status."""
    if response.status_code != httpx.codes.CREATED:
        raise RoadieError(f"POST /v1/sessions for {customer!r} answered {response.status_code}: {response.text[:300]}")
    return {SESSION_HEADER: str(response.json()["id"])}
