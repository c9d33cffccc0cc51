"""Alertmanager delivers a test alert to the lab's recorder, and `roadie alerts` lists it."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from typer.testing import CliRunner

from roadie.alerts.notifications import read_notifications, recorder_file
from roadie.cli.alerts import app as alerts_app
from tests.support import wait_until


def test_a_critical_test_alert_is_recorded_and_listed(lab, alertmanager_url):
    marker = f"lab-check-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    alert = {
        "labels": {
            "alertname": "RoadieLabTestAlert",
            "severity": "critical",
            "az": "0",
            "region": "1",
            "check": marker,
        },
        "annotations": {"summary": f"Test alert {marker}", "description": "Sent by tests/lab/observability."},
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(minutes=5)).isoformat(),
    }
    answer = httpx.post(f"{alertmanager_url}/api/v2/alerts", json=[alert], timeout=10)
    assert answer.status_code == 200, answer.text
    file = recorder_file(lab)

    def recorded():
        return [n for n in read_notifications(file) if n.labels.get("check") == marker]

    # critical alerts wait group_wait (10 s) before the first notification
    found = wait_until(recorded, 60, f"the recorder to receive {marker}")
    assert found[0].receiver == "critical"
    assert found[0].status == "firing"

    listing = CliRunner().invoke(alerts_app, ["--alert", "RoadieLabTestAlert"], terminal_width=250)
    assert listing.exit_code == 0, listing.output
    assert marker in listing.output


def test_prometheus_sends_its_alerts_to_alertmanager(prometheus_url):
    data = httpx.get(f"{prometheus_url}/api/v1/alertmanagers", timeout=10).json()["data"]
    assert data["activeAlertmanagers"], data
