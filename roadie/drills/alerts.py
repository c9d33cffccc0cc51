"""Which alerts a drill set off, and when: Prometheus' ``ALERTS`` series over the drill's
window (when each alert went pending and firing), and the notifications Alertmanager
delivered to the lab's recorder (what on-call would have been sent).

Alert times are as precise as Prometheus' rule evaluation interval. After the heal a drill
keeps watching (`watch_to_end`) until every alert it set off has resolved, or a bound passes,
so that its report shows what paged, when, and when it cleared. Alerts whose expression looks
back over a window longer than the bound (PatroniLeaderChanged: 10 minutes) are not waited
for: the report says they clear after their window.
"""

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from roadie.alerts.active import active_alerts
from roadie.alerts.notifications import read_notifications, recorder_file
from roadie.alerts.rules import alerting_rules
from roadie.errors import RoadieError
from roadie.lab.inventory import Lab
from roadie.services import registry

QUERY_STEP_S = 1.0
# Alerts already pending or firing this long before the drill belong to an earlier event (a
# previous drill's alert still firing): the report lists them apart and they do not count.
LOOKBACK_S = 120.0
TIMEOUT_S = 10.0
# How long a drill keeps watching after its heal for the alerts it set off to resolve.
WATCH_BOUND_S = 90.0
WATCH_INTERVAL_S = 2.0
# Labels that say which alert instance it is; the rest (alertstate, severity) describe it.
DESCRIPTIVE = {"__name__", "alertname", "alertstate", "severity"}


@dataclass(frozen=True)
class AlertSeen:
    alert: str
    severity: str
    labels: dict[str, str]
    pending_at: float | None  # epoch seconds
    firing_at: float | None
    last_at: float | None = None  # its last sample in the window (pending or firing)

    @property
    def first_seen(self) -> float:
        return min(t for t in (self.pending_at, self.firing_at) if t is not None)

    def resolved_at(self, end: float) -> float | None:
        """When it stopped being pending or firing (None: still active at `end`)."""
        if self.last_at is None or self.last_at >= end - 2 * QUERY_STEP_S:
            return None
        return self.last_at + QUERY_STEP_S

    def as_dict(self, zero: float, started: float, end: float) -> dict[str, Any]:
        return {
            "alert": self.alert,
            "severity": self.severity,
            "labels": self.labels,
            "pending_s": _relative(self.pending_at, zero),
            "firing_s": _relative(self.firing_at, zero),
            "resolved_s": _relative(self.resolved_at(end), zero),
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
        entry = found.setdefault(identity, {"metric": metric, "pending": None, "firing": None, "last": None})
        stamps = [float(t) for t, _ in one.get("values", [])]
        state = metric.get("alertstate", "firing")
        if stamps and (entry[state] is None or min(stamps) < entry[state]):
            entry[state] = min(stamps)
        if stamps and (entry["last"] is None or max(stamps) > entry["last"]):
            entry["last"] = max(stamps)
    seen = [
        AlertSeen(
            alert=entry["metric"].get("alertname", ""),
            severity=entry["metric"].get("severity", ""),
            labels={k: v for k, v in entry["metric"].items() if k not in DESCRIPTIVE},
            pending_at=entry["pending"],
            firing_at=entry["firing"],
            last_at=entry["last"],
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
        "alerts": [a.as_dict(zero, start, end) for a in seen],
        "notifications": sent,
        "watched_to_s": round(end - zero, 1),
        "windows_s": {a.alert: _window(a.alert) for a in seen if _window(a.alert) > WATCH_BOUND_S},
    }


def watch_to_end(lab: Lab, started: float, bound: float = WATCH_BOUND_S) -> float:
    """After the heal: wait until no alert that became active since `started` is still pending
    or firing (windowed ones aside), or `bound` passes. Returns when it stopped."""
    url = prometheus_url(lab)
    if url is None:
        return time.time()
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        try:
            waiting = [a for a in active_alerts(url) if a.active_at >= started and _window(a.alert) <= bound]
        except RoadieError:
            break  # the report says the alerts were not observed
        if not waiting:
            break
        time.sleep(WATCH_INTERVAL_S)
    return time.time()


def _window(alert: str) -> float:
    return next((r.window_s for r in alerting_rules() if r.name == alert), 0.0)


def _relative(at: float | None, zero: float) -> float | None:
    return None if at is None else round(at - zero, 1)
