"""Shared fixtures: the lab as the inventory describes it, its secrets, and the credentials of
its app's API."""

import os
import sys
from pathlib import Path

import pytest

from roadie.apiauth import ApiCredentials
from roadie.lab import hosts
from roadie.lab.inventory import Lab, LabHost, load_lab
from roadie.lab.secrets import load_secrets
from roadie.services import internal_tls

# testinfra's ansible backend and the CLI tests call the venv's tools by name.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"


@pytest.fixture(scope="session")
def lab() -> Lab:
    found = load_lab()
    # As the CLI does: every libpq connection of the tests verifies the lab's PostgreSQL.
    internal_tls.trust(found.tls.directory)
    return found


@pytest.fixture(scope="session")
def lab_secrets(lab: Lab) -> dict[str, str]:
    return load_secrets(lab.secrets_file)


@pytest.fixture(scope="session")
def api(lab: Lab, running_hosts: list[LabHost]) -> ApiCredentials:
    """The operator token and the lab's customer issuer, as the deployed app has them."""
    return ApiCredentials.for_lab(lab)


@pytest.fixture(scope="session")
def operator(api: ApiCredentials) -> dict[str, str]:
    """Headers of an operator's request (creating events, /metrics, search stats, /internal/)."""
    return api.operator_headers()


@pytest.fixture(scope="session")
def running_hosts(lab: Lab) -> list[LabHost]:
    """Hosts of the profile the lab was brought up with; the lab must be up."""
    down = [h.name for h in lab.hosts if not hosts.is_powered_on(h)]
    assert not down, f"lab hosts not running: {down} (run 'roadie lab up' first)"
    return list(lab.hosts)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests under tests/lab and tests/host need the running lab; mark them so."""
    for item in items:
        parts = item.path.parts
        if "lab" in parts and "tests" in parts:
            item.add_marker(pytest.mark.lab)
        if "host" in parts and "tests" in parts:
            item.add_marker(pytest.mark.host)
