"""The lab's shorter `for:` (prometheus_alert_for_scale): only `for:` lines change, each scaled
by the factor but never below two evaluation intervals, and the scaled files stay valid rules."""

import importlib.util
import subprocess

import pytest
import yaml

from tests.unit.observability.conftest import RULES_DIR, alerting_rules, repo_path, tool


def _filter_module():
    path = repo_path("ansible", "roles", "prometheus", "filter_plugins", "alert_rules.py")
    spec = importlib.util.spec_from_file_location("alert_rules", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


alert_rules = _filter_module()


@pytest.mark.parametrize(
    ("duration", "factor", "expected"),
    [
        ("10m", 0.1, "60s"),
        ("1h", 0.1, "360s"),
        ("2m", 0.1, "12s"),
        ("1m", 0.1, "10s"),
        ("30s", 0.1, "10s"),
        ("5s", 0.1, "5s"),
        ("1h30m", 0.5, "2700s"),
        ("5m", 0.25, "75s"),
    ],
)
def test_a_for_is_scaled_but_never_below_two_evaluations(duration, factor, expected):
    assert alert_rules.scaled_duration(duration, factor, "5s") == expected


def test_a_factor_of_one_leaves_the_file_as_it_is():
    text = (RULES_DIR / "database.yml").read_text()
    assert alert_rules.prometheus_scaled_for(text, 1, "15s") == text


@pytest.mark.parametrize("factor", [0, -1, 1.5])
def test_a_factor_outside_zero_to_one_is_refused(factor):
    with pytest.raises(ValueError, match="scale factor"):
        alert_rules.prometheus_scaled_for("for: 1m\n", factor, "5s")


def test_a_malformed_duration_is_refused():
    with pytest.raises(ValueError, match="not a Prometheus duration"):
        alert_rules.duration_seconds("5 minutes")


def test_scaled_rule_files_change_only_durations_and_stay_valid(tmp_path):
    scaled_alerts = {}
    for path in sorted(RULES_DIR.glob("*.yml")):
        original = path.read_text()
        scaled = alert_rules.prometheus_scaled_for(original, 0.1, "5s")
        changed = [(a, b) for a, b in zip(original.splitlines(), scaled.splitlines(), strict=True) if a != b]
        assert all(a.strip().startswith("for:") and b.strip().startswith("for:") for a, b in changed), changed
        (tmp_path / path.name).write_text(scaled)
        for group in yaml.safe_load(scaled)["groups"]:
            scaled_alerts |= {r["alert"]: r.get("for") for r in group["rules"] if "alert" in r}
    checked = subprocess.run(
        [tool("promtool"), "check", "rules", *sorted(str(p) for p in tmp_path.glob("*.yml"))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for rule in alerting_rules():
        if "for" in rule:
            seconds = alert_rules.duration_seconds(scaled_alerts[rule["alert"]])
            assert seconds <= alert_rules.duration_seconds(rule["for"])
            assert seconds >= min(10, alert_rules.duration_seconds(rule["for"]))
