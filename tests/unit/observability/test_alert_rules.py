"""Prometheus rules: valid, tested by promtool (a firing and a quiet case per alert), documented."""

import subprocess

import pytest
import yaml

from tests.unit.observability.conftest import (
    RULE_TESTS_DIR,
    RULES_DIR,
    RUNBOOK_BASE,
    alerting_rules,
    repo_path,
    tool,
)

ALERTS = alerting_rules()
RULE_TESTS = sorted(RULE_TESTS_DIR.glob("*_test.yml"))


def test_rule_files_are_valid():
    result = subprocess.run(
        [tool("promtool"), "check", "rules", *map(str, sorted(RULES_DIR.glob("*.yml")))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("test_file", RULE_TESTS, ids=lambda p: p.name)
def test_promtool_rule_tests_pass(test_file):
    result = subprocess.run(
        [tool("promtool"), "test", "rules", test_file.name],
        cwd=RULE_TESTS_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_names_are_unique():
    names = [rule["alert"] for rule in ALERTS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("rule", ALERTS, ids=lambda r: r["alert"])
def test_alert_has_severity_summary_description_and_runbook(rule):
    assert rule["labels"]["severity"] in ("critical", "warning")
    annotations = rule["annotations"]
    assert annotations["summary"].strip()
    assert annotations["description"].strip()
    assert annotations["runbook_url"] == f"{RUNBOOK_BASE}{rule['alert']}.md"
    assert repo_path("runbooks", f"{rule['alert']}.md").is_file()


def _cases() -> dict[str, dict[str, int]]:
    """For each alert: how many promtool cases expect it to fire, and how many expect silence."""
    cases: dict[str, dict[str, int]] = {}
    for path in RULE_TESTS:
        for test in yaml.safe_load(path.read_text())["tests"]:
            for check in test.get("alert_rule_test", []):
                kind = "fires" if check.get("exp_alerts") else "quiet"
                counts = cases.setdefault(check["alertname"], {"fires": 0, "quiet": 0})
                counts[kind] += 1
    return cases


@pytest.mark.parametrize("rule", ALERTS, ids=lambda r: r["alert"])
def test_every_alert_has_a_firing_and_a_quiet_promtool_case(rule):
    counts = _cases().get(rule["alert"], {"fires": 0, "quiet": 0})
    assert counts["fires"] >= 1, f"no promtool case fires {rule['alert']}"
    assert counts["quiet"] >= 1, f"no promtool case expects {rule['alert']} to stay quiet"


def test_every_runbook_belongs_to_an_alert():
    names = {rule["alert"] for rule in ALERTS}
    books = {p.stem for p in repo_path("runbooks").glob("*.md") if p.name != "README.md"}
    assert books == names
