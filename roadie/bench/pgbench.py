"""pgbench (TPC-B-like) against the app's own PostgreSQL primary: the booking baseline."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from roadie.errors import RoadieError

TPS = re.compile(r"tps = ([0-9.]+) \(without initial connection time\)")


@dataclass(frozen=True)
class PgTarget:
    host: str
    port: int
    user: str
    password: str
    database: str

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PGHOST": self.host,
            "PGPORT": str(self.port),
            "PGUSER": self.user,
            "PGPASSWORD": self.password,
            "PGDATABASE": self.database,
        }


def _pgbench() -> str:
    path = shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"
    if not os.path.exists(path):
        raise RoadieError("pgbench not found: install postgresql-client-15 ('make bootstrap')")
    return path


def _run(target: PgTarget, args: list[str], timeout: float) -> str:
    result = subprocess.run(
        [_pgbench(), *args], env=target.env(), capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise RoadieError(f"pgbench {' '.join(args)} failed: {result.stderr.strip().splitlines()[-1:]}")
    return result.stdout + result.stderr


def initialize(target: PgTarget, scale: int) -> None:
    """Create pgbench's tables (dropping old ones) at `scale` (100,000 accounts per unit)."""
    _run(target, ["-i", "-q", "-s", str(scale), "--foreign-keys"], timeout=300)


def parse_tps(output: str) -> float:
    match = TPS.search(output)
    if not match:
        raise RoadieError(f"could not read pgbench's tps from: {output[-300:]}")
    return float(match.group(1))


def run_tpcb(target: PgTarget, clients: int, seconds: int) -> float:
    """Transactions per second of the built-in tpcb-like script with `clients` connections."""
    output = _run(
        target, ["-n", "-M", "prepared", "-c", str(clients), "-j", "2", "-T", str(seconds)], timeout=seconds + 120
    )
    return parse_tps(output)
