"""The alerts Prometheus has pending or firing right now (its `/api/v1/alerts`)."""

from dataclasses import dataclass
from datetime import datetime

import httpx

from roadie.errors import RoadieError

TIMEOUT_S = 10.0


@dataclass(frozen=True)
class ActiveAlert:
    alert: str
    state: str  # pending or firing
    labels: dict[str, str]
    active_at: float


def active_alerts(prometheus: str) -> list[ActiveAlert]:
    """Every alert Prometheus has pending or firing right now."""
    try:
        body = httpx.get(f"{prometheus}/api/v1/alerts", timeout=TIMEOUT_S).json()
    except (httpx.HTTPError, ValueError) as exc:
        raise RoadieError(f"Prometheus at {prometheus} did not list its alerts: {exc}") from exc
    return [
        ActiveAlert(
            alert=a["labels"].get("alertname", ""),
            state=a["state"],
            labels=a["labels"],
            active_at=datetime.fromisoformat(a["activeAt"].replace("Z", "+00:00")).timestamp(),
        )
        for a in body["data"]["alerts"]
    ]


def matches(labels: dict[str, str], alert: str, wanted: dict[str, str]) -> bool:
    return labels.get("alertname") == alert and all(labels.get(k) == v for k, v in wanted.items())
