"""Alertmanager routing: valid, routes by severity, and an AZ outage inhibits its instances' alerts."""

import subprocess

import yaml

from tests.unit.observability.conftest import ALERTS_DIR, alerting_rules, tool

ROUTING = yaml.safe_load((ALERTS_DIR / "alertmanager" / "routing.yml").read_text())


def _config(tmp_path):
    config = dict(ROUTING, receivers=[{"name": "critical"}, {"name": "warning"}])
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def _route(tmp_path, *labels: str) -> str:
    result = subprocess.run(
        [tool("amtool"), "config", "routes", "test", f"--config.file={_config(tmp_path)}", *labels],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_routing_is_a_valid_alertmanager_config(tmp_path):
    result = subprocess.run(
        [tool("amtool"), "check-config", str(_config(tmp_path))], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_critical_alerts_page_and_warnings_go_to_the_channel(tmp_path):
    assert _route(tmp_path, "alertname=PatroniNoLeader", "severity=critical") == "critical"
    assert _route(tmp_path, "alertname=CacheHitRateLow", "severity=warning") == "warning"


def test_zone_outage_inhibits_the_per_instance_alerts_of_its_zone():
    rule = next(r for r in ROUTING["inhibit_rules"] if r["source_matchers"] == ['alertname="AvailabilityZoneDown"'])
    assert set(rule["equal"]) == {"region", "az"}
    targets = rule["target_matchers"][0].split("=~", 1)[1].strip('"').split("|")
    assert {"AppInstanceDown", "ScrapeTargetDown", "EtcdNoLeader"} <= set(targets)


def test_inhibition_rules_name_existing_alerts():
    names = {r["alert"] for r in alerting_rules()}
    for rule in ROUTING["inhibit_rules"]:
        for matcher in rule["source_matchers"] + rule["target_matchers"]:
            value = matcher.split("=", 1)[1].lstrip("~").strip('"')
            assert set(value.split("|")) <= names, matcher


def test_grouping_keeps_one_message_per_alert_and_zone():
    assert ROUTING["route"]["group_by"] == ["alertname", "region", "az"]
