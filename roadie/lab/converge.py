"""Converge the lab: site.yml over the lab's inventory, as a production deploy runs it."""

from __future__ import annotations

from roadie.lab.inventory import Lab
from roadie.lab.playbook import PlaybookRun, raise_for_failure, run_playbook


def converge(lab: Lab, title: str) -> PlaybookRun:
    """Run site.yml over every host of the lab; raise with the failures if it fails."""
    run = run_playbook("site.yml", lab.root / "logs", inventory=lab.inventory_dir, title=title)
    raise_for_failure(run, title)
    return run
