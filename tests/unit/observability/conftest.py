"""Paths and parsed files shared by the observability unit tests."""

import shutil
from pathlib import Path

import pytest
import yaml

from roadie.paths import project_root

ALERTS_DIR = project_root() / "alerts"
RULES_DIR = ALERTS_DIR / "rules"
RULE_TESTS_DIR = ALERTS_DIR / "tests"
RUNBOOK_BASE = "https://git.roadie.example/roadie/roadie/-/blob/main/runbooks/"


def alerting_rules() -> list[dict]:
    rules = []
    for path in sorted(RULES_DIR.glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            rules += [dict(rule, file=path.name) for rule in group["rules"] if "alert" in rule]
    return rules


def tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        pytest.fail(
            f"{name} is missing: run scripts/bootstrap.sh (Debian packages prometheus, prometheus-alertmanager)"
        )
    return found


def repo_path(*parts: str) -> Path:
    return project_root().joinpath(*parts)
