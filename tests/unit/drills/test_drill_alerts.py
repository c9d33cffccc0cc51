"""The drill report's alerts section: Prometheus' ALERTS series merged per alert instance,
and how the report shows them."""

from roadie.drills.alerts import AlertSeen, merge_series
from roadie.drills.report import _alerts_markdown


def _series(state: str, times: list[float], **labels: str) -> dict:
    metric = {"__name__": "ALERTS", "alertname": "PatroniLeaderMissing", "alertstate": state, "severity": "critical"}
    return {"metric": {**metric, **labels}, "values": [[t, "1"] for t in times]}


def test_pending_and_firing_series_of_one_instance_merge_into_one_alert() -> None:
    seen = merge_series(
        [
            _series("firing", [130.0, 131.0], cluster="roadie"),
            _series("pending", [100.0, 101.0, 129.0], cluster="roadie"),
        ]
    )
    assert seen == [AlertSeen("PatroniLeaderMissing", "critical", {"cluster": "roadie"}, 100.0, 130.0, 131.0)]


def test_instances_with_other_labels_stay_apart_and_come_oldest_first() -> None:
    seen = merge_series([_series("pending", [120.0], instance="db-2"), _series("pending", [110.0], instance="db-1")])
    assert [a.labels["instance"] for a in seen] == ["db-1", "db-2"]
    assert all(a.firing_at is None for a in seen)


def test_an_alert_that_fired_without_a_pending_sample_keeps_its_firing_time() -> None:
    (seen,) = merge_series([_series("firing", [140.0])])
    assert (seen.pending_at, seen.firing_at) == (None, 140.0)
    assert seen.as_dict(zero=100.0, started=90.0, end=200.0)["firing_s"] == 40.0
    assert not seen.as_dict(zero=100.0, started=90.0, end=200.0)["before_drill"]


def test_an_alert_already_active_when_the_drill_started_is_marked() -> None:
    (seen,) = merge_series([_series("firing", [50.0, 51.0, 130.0])])
    assert seen.as_dict(zero=100.0, started=90.0, end=200.0)["before_drill"]


def test_an_alert_resolves_at_its_last_sample_unless_it_lasted_to_the_end() -> None:
    (seen,) = merge_series([_series("firing", [130.0, 131.0, 150.0])])
    assert seen.as_dict(zero=100.0, started=90.0, end=200.0)["resolved_s"] == 51.0
    assert seen.as_dict(zero=100.0, started=90.0, end=151.0)["resolved_s"] is None, "still active at the end"


def test_report_shows_when_each_alert_cleared_or_why_it_was_not_waited_for() -> None:
    alert = {"severity": "warning", "labels": {}, "pending_s": 1.0, "firing_s": 2.0}
    alerts = {
        "observed": True,
        "alerts": [
            {**alert, "alert": "PatroniNoLeader", "resolved_s": 30.0},
            {**alert, "alert": "PatroniLeaderChanged", "resolved_s": None},
            {**alert, "alert": "PatroniNoSyncStandby", "resolved_s": None},
        ],
        "notifications": [],
        "watched_to_s": 95.0,
        "windows_s": {"PatroniLeaderChanged": 600.0},
    }
    text = "\n".join(_alerts_markdown(alerts))
    assert "| PatroniNoLeader | warning |  | +1.0 | +2.0 | +30.0 |" in text
    assert "| PatroniLeaderChanged | warning |  | +1.0 | +2.0 | clears 10 m after its cause (its window) |" in text
    assert "| PatroniNoSyncStandby | warning |  | +1.0 | +2.0 | still active when the watch ended |" in text
    assert "watched until t=+95.0s" in text


def test_report_lists_alerts_and_notifications_with_times_after_the_fault() -> None:
    alerts = {
        "observed": True,
        "alerts": [
            {
                "alert": "RedisMasterDown",
                "severity": "critical",
                "labels": {"instance": "cache-2"},
                "pending_s": 3.2,
                "firing_s": None,
                "resolved_s": 9.0,
            }
        ],
        "notifications": [{"alert": "RedisMasterDown", "status": "firing", "severity": "critical", "received_s": 41.0}],
    }
    text = "\n".join(_alerts_markdown(alerts))
    assert "| RedisMasterDown | critical | instance=cache-2 | +3.2 | - | +9.0 |" in text
    assert "t=+41.0s RedisMasterDown (critical) firing" in text


def test_report_says_why_alerts_were_not_observed() -> None:
    text = "\n".join(_alerts_markdown({"observed": False, "why": "no Prometheus in this lab"}))
    assert "Not observed: no Prometheus in this lab." in text
