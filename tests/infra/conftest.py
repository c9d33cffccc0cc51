"""The Pulumi program and the policy pack are not installed packages: import them from infra/."""

import asyncio
import sys
from pathlib import Path

import pytest

INFRA = Path(__file__).resolve().parents[2] / "infra"
for path in (INFRA, INFRA / "policy"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


def pytest_configure(config):
    # pulumi-aws imports its deprecated S3 V2 classes and pulumi-kubernetes passes a deprecated
    # argument to itself: noise from the libraries, not from roadie's program.
    for module in ("pulumi_aws", "pulumi_kubernetes"):
        config.addinivalue_line("filterwarnings", rf"ignore::DeprecationWarning:{module}(\..*)?")


@pytest.fixture(autouse=True, scope="module")
def _event_loop():
    # Pulumi's mocks run on asyncio's current event loop; a test that ran asyncio.run() before
    # (tests/unit/tickets, in a session that runs tests/unit first) leaves the thread with none.
    asyncio.set_event_loop(asyncio.new_event_loop())
