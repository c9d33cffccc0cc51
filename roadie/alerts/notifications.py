"""Read the notifications the lab's alert recorder received (what `roadie alerts` lists)."""

import json
from dataclasses import dataclass
from pathlib import Path

from roadie.errors import RoadieError
from roadie.lab import hosts
from roadie.lab.inventory import Lab
from roadie.services import registry


@dataclass(frozen=True)
class Notification:
    """One alert inside one Alertmanager notification."""

    received_at: str
    receiver: str
    status: str
    alertname: str
    severity: str
    labels: dict[str, str]
    summary: str
    starts_at: str


def recorder_file(lab: Lab) -> Path:
    """The recorder's file, from the service registry of the monitoring host(s)."""
    for host in lab.group("monitoring"):
        recorder = registry.find(host, "alert_recorder")
        if recorder is not None:
            return hosts.on_disk(host, recorder.text("file"))
    raise RoadieError("no alert recorder is installed: run playbooks/monitoring.yml against the lab")


def read_notifications(file: Path) -> list[Notification]:
    """Every alert of every recorded notification, oldest first."""
    if not file.exists():
        return []
    found = []
    for line in file.read_text().splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        payload = entry.get("notification", {})
        for alert in payload.get("alerts", []):
            labels = {str(k): str(v) for k, v in alert.get("labels", {}).items()}
            found.append(
                Notification(
                    received_at=str(entry.get("received_at", "")),
                    receiver=str(payload.get("receiver", "")),
                    status=str(alert.get("status", payload.get("status", ""))),
                    alertname=labels.get("alertname", ""),
                    severity=labels.get("severity", ""),
                    labels=labels,
                    summary=str(alert.get("annotations", {}).get("summary", "")),
                    starts_at=str(alert.get("startsAt", "")),
                )
            )
    return found
