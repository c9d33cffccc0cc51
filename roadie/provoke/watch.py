"""Follow one alert instance through its life: pending, firing, notified, resolved.

Prometheus' `/api/v1/alerts` says what is pending or firing now (with `activeAt`, when the
condition first held); the lab's recorder says what Alertmanager delivered. A notification
counts only if it arrived after the provocation started and carries the expected labels, so an
earlier run's notification never proves this one.
"""

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from roadie.alerts.active import ActiveAlert, active_alerts, matches
from roadie.alerts.notifications import Notification, read_notifications


@dataclass
class Timeline:
    """What was seen of one expected alert instance, in epoch seconds (None: not seen)."""

    alert: str
    labels: dict[str, str]
    started: float
    pending_at: float | None = None
    firing_at: float | None = None
    notified_at: float | None = None
    resolved_at: float | None = None
    seen_labels: dict[str, str] = field(default_factory=dict)

    def observe(self, now: float, active: list[ActiveAlert], notes: list[Notification]) -> None:
        mine = [a for a in active if matches(a.labels, self.alert, self.labels)]
        if mine:
            first = min(mine, key=lambda a: a.active_at)
            self.seen_labels = first.labels
            if self.pending_at is None:
                self.pending_at = max(first.active_at, self.started)
            if self.firing_at is None and any(a.state == "firing" for a in mine):
                self.firing_at = now
            self.resolved_at = None
        elif self.firing_at is not None and self.resolved_at is None:
            self.resolved_at = now
        if self.notified_at is None:
            self.notified_at = _first_notification(notes, self.alert, self.labels, self.started)

    @property
    def firing(self) -> bool:
        return self.firing_at is not None and self.resolved_at is None

    def seconds(self) -> dict[str, float | None]:
        """Seconds from the provocation's start to each step (None: did not happen)."""
        return {
            name: None if at is None else round(at - self.started, 1)
            for name, at in (
                ("pending_s", self.pending_at),
                ("firing_s", self.firing_at),
                ("notified_s", self.notified_at),
                ("resolved_s", self.resolved_at),
            )
        }


def _first_notification(notes: list[Notification], alert: str, labels: dict[str, str], since: float) -> float | None:
    for note in notes:
        at = datetime.fromisoformat(note.received_at).timestamp()
        if at >= since and note.status == "firing" and matches(note.labels, alert, labels):
            return at
    return None


class Watcher:
    """Polls Prometheus and the recorder for a set of timelines."""

    def __init__(self, prometheus: str, recorder: Any, interval: float = 2.0) -> None:
        self.prometheus = prometheus
        self.recorder = recorder
        self.interval = interval

    def poll(self, timelines: list[Timeline]) -> None:
        now = time.time()
        active = active_alerts(self.prometheus)
        notes = read_notifications(self.recorder)
        for timeline in timelines:
            timeline.observe(now, active, notes)

    def until(self, timelines: list[Timeline], done: Any, timeout: float) -> bool:
        """Poll until done(timelines) holds or timeout passes; whether it held."""
        deadline = time.monotonic() + timeout
        while True:
            self.poll(timelines)
            if done(timelines):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(self.interval)
