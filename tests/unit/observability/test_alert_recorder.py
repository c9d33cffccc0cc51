"""The lab's alert recorder stores each Alertmanager notification; the reader lists its alerts."""

import threading

import httpx

from roadie.alerts.notifications import read_notifications
from roadie.alerts.recorder import Recorder

NOTIFICATION = {
    "receiver": "critical",
    "status": "firing",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "PatroniNoLeader", "severity": "critical", "scope": "roadie"},
            "annotations": {"summary": "Patroni cluster roadie has no primary"},
            "startsAt": "2026-11-22T00:00:00Z",
        }
    ],
}


def test_recorded_notifications_are_read_back(tmp_path):
    file = tmp_path / "notifications.jsonl"
    server = Recorder(("127.0.0.1", 0), file)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        assert httpx.get(f"{url}/-/healthy", timeout=5).status_code == 200
        assert httpx.post(f"{url}/critical", json=NOTIFICATION, timeout=5).status_code == 200
        assert httpx.post(f"{url}/critical", content=b"not json", timeout=5).status_code == 400
    finally:
        server.shutdown()
        server.server_close()
    [note] = read_notifications(file)
    assert (note.receiver, note.status, note.alertname, note.severity) == (
        "critical",
        "firing",
        "PatroniNoLeader",
        "critical",
    )
    assert note.summary == "Patroni cluster roadie has no primary"


def test_no_file_means_no_notifications(tmp_path):
    assert read_notifications(tmp_path / "missing.jsonl") == []
