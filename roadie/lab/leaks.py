"""Secrets in the lab's logs: every generated secret searched for in every log the lab keeps.

A credential printed by a service, a playbook or a test is a credential anyone with log access
has. Searched: the Ansible runs, each host's boot console and each host's whole journal (read
from its disk, whatever state the host is in). A secret is looked for as it is and as it would
appear percent-encoded in a URL. A finding names the log, the line and the secret's name, never
its value.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from roadie.lab.inventory import Lab

# Shorter values would match by chance; every generated secret is 32 characters.
MIN_SECRET_LENGTH = 12
JOURNAL_TIMEOUT_S = 300


@dataclass(frozen=True)
class Leak:
    log: str
    line: int
    secret: str  # its name, never its value


def patterns(secrets: dict[str, str]) -> tuple[re.Pattern[str], dict[str, str]]:
    """One regex of every secret's forms, and which secret each form is."""
    forms: dict[str, str] = {}
    for name, value in secrets.items():
        if len(value) >= MIN_SECRET_LENGTH:
            forms[value] = name
            forms[quote(value, safe="")] = name
    if not forms:
        return re.compile(r"(?!)"), forms
    return re.compile("|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))), forms


def scan(logs: Iterable[tuple[str, Iterable[str]]], secrets: dict[str, str]) -> list[Leak]:
    """Every line of every log that holds a secret (one finding per line and secret)."""
    pattern, forms = patterns(secrets)
    found = []
    for log, lines in logs:
        for number, text in enumerate(lines, 1):
            names = {forms[m.group(0)] for m in pattern.finditer(text)}
            found += [Leak(log, number, name) for name in sorted(names)]
    return found


def lab_logs(lab: Lab) -> Iterator[tuple[str, Iterable[str]]]:
    """The lab's logs, each as (a name saying where it is, its lines)."""
    for path in sorted((lab.root / "logs").glob("*.log")):
        yield str(path), _lines(path)
    for host in lab.hosts:
        if host.machine.console_log.exists():
            yield f"{host.name}: boot console", _lines(host.machine.console_log)
        journal = host.root / "var/log/journal"
        if journal.is_dir():
            yield f"{host.name}: journal", _journal(journal)


def _lines(path: Path) -> Iterator[str]:
    with path.open(errors="replace") as handle:
        yield from handle


def _journal(directory: Path) -> Iterator[str]:
    argv = ["journalctl", f"--directory={directory}", "--no-pager", "--output=short-iso"]
    done = subprocess.run(
        argv, capture_output=True, text=True, errors="replace", timeout=JOURNAL_TIMEOUT_S, check=False
    )
    yield from done.stdout.splitlines()
