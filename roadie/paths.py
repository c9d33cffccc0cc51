"""Where roadie's own files are: the repository holding the Ansible tree."""

import os
from pathlib import Path


def project_root() -> Path:
    """The roadie checkout (override with ROADIE_HOME)."""
    override = os.environ.get("ROADIE_HOME")
    return Path(override) if override else Path(__file__).resolve().parent.parent


def ansible_dir() -> Path:
    return project_root() / "ansible"


def lab_inventory_dir() -> Path:
    return ansible_dir() / "inventories" / "lab"
