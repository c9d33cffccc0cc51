"""The lab's logs gathered in one directory, to keep when a run fails (the lab itself is purged).

Everything comes from the controller's side, so it works whatever state the hosts are in:
the Ansible runs, each host's boot console, and each host's journal read from its disk.
Secrets and keys are never copied.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from roadie.lab.inventory import Lab, LabHost


def collect(lab: Lab, target: Path) -> list[Path]:
    """Copy the lab's logs into `target`; returns the files written."""
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sorted((lab.root / "logs").glob("*.log")):
        written.append(Path(shutil.copy2(source, target / source.name)))
    for name in ("stack-output.json", "inventory/hosts.yml", "epmd.log"):
        source = lab.root / name
        if source.is_file():
            written.append(Path(shutil.copy2(source, target / name.replace("/", "-"))))
    for host in lab.hosts:
        written += _host_logs(host, target)
    return written


def _host_logs(host: LabHost, target: Path) -> list[Path]:
    written = []
    if host.machine.console_log.exists():
        written.append(Path(shutil.copy2(host.machine.console_log, target / f"{host.name}.console.log")))
    journal = host.root / "var/log/journal"
    if journal.is_dir():
        out = target / f"{host.name}.journal.log"
        with out.open("w") as handle:
            subprocess.run(
                ["journalctl", f"--directory={journal}", "--no-pager", "--output=short-iso"],
                stdout=handle,
                stderr=subprocess.STDOUT,
                check=False,
                timeout=120,
            )
        written.append(out)
    return written
