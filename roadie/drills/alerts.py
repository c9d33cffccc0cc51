"""Which alerts a drill set off, and when: Prometheus' ``ALERTS`` series over the drill's
window (when each alert went pending and firing), and the notifications Alertmanager
delivered to the lab's recorder (what on-call would have been sent).

Alert times are as precise as Prometheus' rule evaluation interval; a drill reports them
as observed, it does not wait for alerts whose ``for:`` outlasts the fault.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from roadie.alerts.notifications import read_notifications, recorder_file
from roadie.errors import RoadieError
from roadie.lab.inventory import Lab
from roadie.services import registry

QUERY_STEP_S = 1.0
# Alerts already pending or firing this long before the drill belong to an earlier event (a
# previous drill's alert still firing): the report lists them apart and they do not count.
LOOKBACK_S = 120.0
TIMEOUT_S = 10.0
# Labels that say which alert instance it is; the rest (alertstate, severity) describe it.
DESCRIPTIVE = {"__name__", "alertname", "alertstate", "severity"}


@dataclass(frozen=True)
class AlertSeen:
    alert: str
    severity: str
    labels: dict[str, str]
    pending_at: float | None  # epoch seconds
    firing_at: float | None

    @property
    def first_seen(self) -> float:
        return min(t for t in (self.pending_at, self.firing_at) if t is not None)

    def as_dict(self, zero: float, started: float) -> dict[str, Any]:
        return {
            "alert": self.alert,
            "severity": self.severity,
            "labels": self.labels,
            "pending_s": _relative(self.pending_at, zero),
            "firing_s": _relative(self.firing_at, zero),
            "before_drill": self.first_seen < started,
        }


def prometheus_url(lab: Lab) -> str | None:
    prometheus = registry.first(lab, "monitoring", "prometheus")
    return prometheus.url("http") if prometheus is not None else None


def alerts_between(url: str, start: float, end: float) -> list[AlertSeen]:
    """Every alert instance that was pending or firing between start and end, oldest first."""
    try:
        answer = httpx.get(
            f"{url}/api/v1/query_range",
            params={"query": "ALERTS", "start": start, "end": end, "step": QUERY_STEP_S},
            timeout=TIMEOUT_S,
        )
        body = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise RoadieError(f"Prometheus at {url} did not answer the ALERTS query: {exc}") from exc
    if body.get("status") != "success":
        raise RoadieError(f"Prometheus refused the ALERTS query: {body.get('error', answer.text[:200])}")
    return merge_series(body["data"]["result"])


def merge_series(series: list[dict[str, Any]]) -> list[AlertSeen]:
    """One entry per alert instance from its pending and firing series (first sample of each)."""
    found: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
    for one in series:
        metric = one["metric"]
        identity = tuple(sorted((k, v) for k, v in metric.items() if k not in DESCRIPTIVE - {"alertname"}))
        entry = found.setdefault(identity, {"metric": metric, "pending": None, "firing": None})
        first = min(float(t) for t, _ in one["values"]) if one.get("values") else None
        state = metric.get("alertstate", "firing")
        if first is not None and (entry[state] is None or first < entry[state]):
            entry[state] = first
    seen = [
        AlertSeen(
            alert=entry["metric"].get("alertname", ""),
            severity=entry["metric"].get("severity", ""),
            labels={k: v for k, v in entry["metric"].items() if k not in DESCRIPTIVE},
            pending_at=entry["pending"],
            firing_at=entry["firing"],
        )
        for entry in found.values()
    ]
    return sorted(seen, key=lambda a: a.first_seen)


def notifications_between(lab: Lab, start: float, end: float, zero: float) -> list[dict[str, Any]]:
    """Alerts in the notifications the recorder received between start and end."""
    sent = []
    for note in read_notifications(recorder_file(lab)):
        at = datetime.fromisoformat(note.received_at).timestamp()
        if start <= at <= end:
            sent.append(
                {
                    "alert": note.alertname,
                    "status": note.status,
                    "severity": note.severity,
                    "received_s": round(at - zero, 1),
                }
            )
    return sent


def drill_alerts(lab: Lab, start: float, end: float, zero: float) -> dict[str, Any]:
    """The report's alerts section; says why it is empty when the lab has no monitoring."""
    url = prometheus_url(lab)
    if url is None:
        return {"observed": False, "why": "no Prometheus in this lab (playbooks/monitoring.yml not applied)"}
    try:
        seen = alerts_between(url, start - LOOKBACK_S, end)
        sent = notifications_between(lab, start, end, zero)
    except RoadieError as exc:
        return {"observed": False, "why": str(exc)}
    return {
        "observed": True,
        "prometheus": url,
        "alerts": [a.as_dict(zero, start) for a in seen],
        "notifications": sent,
    }


def _relative(at: float | None, zero: float) -> float | None:
    return None if at is None else round(at - zero, 1)
