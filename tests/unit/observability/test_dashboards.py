"""Dashboards as code: the committed JSON is what the source builds, and every query parses."""

import json
import subprocess
import sys

import pytest
import yaml

from tests.unit.observability.conftest import repo_path, tool

DASHBOARD_FILES = sorted(repo_path("dashboards").glob("*.json"))


def panel_queries(path):
    board = json.loads(path.read_text())
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"]


def test_generated_json_is_up_to_date():
    result = subprocess.run(
        [sys.executable, str(repo_path("dashboards", "dashboards.py")), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_issue_s_dashboards_exist():
    names = {p.stem for p in DASHBOARD_FILES}
    assert names == {"application-health", "database", "business", "supplier-search", "cache-and-queue"}


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.stem)
def test_every_panel_has_a_query_on_the_provisioned_datasource(path):
    board = json.loads(path.read_text())
    panels = [p for p in board["panels"] if p["type"] != "row"]
    assert panels
    for panel in panels:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == {"type": "prometheus", "uid": "prometheus"}


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.stem)
def test_every_panel_query_is_valid_promql(path, tmp_path):
    rules = [{"record": f"panel:check:{i}", "expr": expr} for i, (_, expr) in enumerate(panel_queries(path))]
    rule_file = tmp_path / "panels.yml"
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": path.stem, "rules": rules}]}))
    result = subprocess.run(
        [tool("promtool"), "check", "rules", str(rule_file)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
