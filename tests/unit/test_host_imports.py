"""What the hosts run of the roadie wheel imports with the wheel's own dependencies only.

A host pip-installs roadie with `[project].dependencies` (no `toolkit` extra): a module it runs
that imports a toolkit library (directly or through roadie.lab) fails to start there, and only
there (seen: the pgBackRest status exporter, through roadie.lab.inventory, on `cryptography`).
"""

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The modules the roles start on hosts (service_unit_command: python -m ..., uvicorn app.main).
HOST_MODULES = ("roadie.backup.exporter", "roadie.alerts.recorder", "app.main", "app.tickets.worker", "app.suppliersim")
# Libraries only the controller has: the toolkit extra's and what they bring.
TOOLKIT_ONLY = ("cryptography", "typer", "rich", "ansible", "mitogen", "matplotlib", "boto3", "chaoslib")

BLOCKER = """
import importlib, sys
blocked = set(sys.argv[2].split(","))
class Blocker:
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in blocked:
            raise ImportError(f"{name} is a toolkit library, not a host dependency")
        return None
sys.meta_path.insert(0, Blocker())
importlib.import_module(sys.argv[1])
"""


def test_the_blocked_libraries_are_not_host_dependencies():
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {entry.split(">")[0].split("<")[0].split("=")[0].split("[")[0].strip().lower() for entry in dependencies}
    assert not names & set(TOOLKIT_ONLY)


def import_without_the_toolkit(module: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-c", BLOCKER, module, ",".join(TOOLKIT_ONLY)]
    return subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, check=False)


@pytest.mark.parametrize("module", HOST_MODULES)
def test_a_host_module_imports_without_the_toolkit(module):
    result = import_without_the_toolkit(module)
    assert result.returncode == 0, result.stderr.strip().splitlines()[-1]


def test_the_blocker_does_fail_a_toolkit_import():
    result = import_without_the_toolkit("roadie.tls")
    assert result.returncode != 0
    assert "toolkit library" in result.stderr
