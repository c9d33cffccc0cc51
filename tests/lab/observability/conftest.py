"""The lab's monitoring host: Prometheus and Alertmanager URLs, and a PromQL helper."""

from typing import Any

import httpx
import pytest

from roadie.lab.inventory import Lab
from tests.support import manifest


@pytest.fixture(scope="session")
def monitoring(lab: Lab, running_hosts):
    hosts = lab.group("monitoring")
    assert hosts, "the inventory has no monitoring host"
    return hosts[0]


@pytest.fixture(scope="session")
def prometheus_url(monitoring) -> str:
    entry = manifest(monitoring, "prometheus")
    return f"http://{entry['address']}:{entry['ports']['http']}"


@pytest.fixture(scope="session")
def alertmanager_url(monitoring) -> str:
    entry = manifest(monitoring, "alertmanager")
    return f"http://{entry['address']}:{entry['ports']['http']}"


def query(prometheus_url: str, expr: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{prometheus_url}/api/v1/query", params={"query": expr}, timeout=10).json()
    assert answer["status"] == "success", answer
    return answer["data"]["result"]
