"""pgbench against the app's own PostgreSQL primary: the database baselines of the bookings.

Runs are bounded (`-T`), prepared statements (`-M prepared`, as psycopg prepares the app's
repeated statements), no vacuum inside the run (`-n`: set-up happens before the measured
window). A run that aborted a client or failed a transaction is an error, not a figure; the
transactions counted are the ones pgbench reports as processed in the run, never tps x time.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path

import psycopg

from roadie.errors import RoadieError

TPS = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)", re.MULTILINE)
PROCESSED = re.compile(r"^number of transactions actually processed: (\d+)", re.MULTILINE)
FAILED = re.compile(r"^number of failed transactions: (\d+)", re.MULTILINE)
ABORTED = re.compile(r"client \d+ aborted|Run was aborted", re.IGNORECASE)


@dataclass(frozen=True)
class PgTarget:
    host: str
    port: int
    user: str
    password: str
    database: str
    options: dict[str, str] = field(default_factory=dict)  # server settings for the session (-c)

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PGHOST": self.host,
            "PGPORT": str(self.port),
            "PGUSER": self.user,
            "PGPASSWORD": self.password,
            "PGDATABASE": self.database,
            "PGOPTIONS": " ".join(f"-c {k}={v}" for k, v in self.options.items()),
        }

    def for_setup(self) -> PgTarget:
        """The same target without a statement timeout: the app's (5 s) bounds booking statements,
        not generating millions of pgbench rows or vacuuming them, which takes longer on a small
        machine (a fresh lab's first `roadie bench tickets` failed in `pgbench -i` at scale 32)."""
        return replace(self, options={**self.options, "statement_timeout": "0"})

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=self.database,
            options=" ".join(f"-c {k}={v}" for k, v in self.options.items()),
            autocommit=True,
        )


@dataclass(frozen=True)
class PgbenchRun:
    transactions: int  # processed in the run
    failed: int
    tps: float  # as pgbench reports it, without its connection time


def _pgbench() -> str:
    path = shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"
    if not os.path.exists(path):
        raise RoadieError("pgbench not found: install postgresql-client-15 ('make bootstrap')")
    return path


def _run(target: PgTarget, args: list[str], timeout: float) -> str:
    result = subprocess.run(
        [_pgbench(), *args], env=target.env(), capture_output=True, text=True, timeout=timeout, check=False
    )
    output = result.stdout + result.stderr
    if result.returncode != 0:
        lines = output.strip().splitlines()
        why = [line for line in lines if "error" in line.lower()][:2] or lines[-3:]
        raise RoadieError(f"pgbench {' '.join(args[:8])}... failed: {' / '.join(why)}")
    return output


def parse_run(output: str) -> PgbenchRun:
    """The figures of a pgbench run; an aborted or failing run is an error."""
    if ABORTED.search(output):
        raise RoadieError(f"pgbench aborted clients: {output.strip().splitlines()[-3:]}")
    tps, processed = TPS.search(output), PROCESSED.search(output)
    if not tps or not processed:
        raise RoadieError(f"could not read pgbench's results from: {output[-300:]}")
    failed = FAILED.search(output)
    run = PgbenchRun(int(processed.group(1)), int(failed.group(1)) if failed else 0, float(tps.group(1)))
    if run.failed:
        raise RoadieError(f"pgbench: {run.failed} transactions failed; its figures would not be bookings")
    return run


def run(
    target: PgTarget,
    *,
    clients: int,
    seconds: int,
    script: Path | None = None,
    defines: dict[str, str] | None = None,
) -> PgbenchRun:
    """One bounded run of `script` (None: the built-in tpcb-like) with `clients` connections."""
    args = ["-n", "-M", "prepared", "-c", str(clients), "-j", str(min(clients, os.cpu_count() or 1))]
    args += ["-T", str(seconds)]
    args += ["-f", str(script)] if script is not None else ["-b", "tpcb-like"]
    for name, value in (defines or {}).items():
        args += ["-D", f"{name}={value}"]
    return parse_run(_run(target, args, timeout=seconds + 120))


def tpcb_scale(target: PgTarget) -> int | None:
    """The scale pgbench's tables were initialised at (None: there are none)."""
    with target.connect() as conn:
        if conn.execute("SELECT to_regclass('public.pgbench_branches')").fetchone()[0] is None:
            return None
        return int(conn.execute("SELECT count(*) FROM public.pgbench_branches").fetchone()[0])


def prepare_tpcb(target: PgTarget, scale: int) -> None:
    """pgbench's tables at `scale`: initialised when missing or at another scale (data generated
    on the server), else reused with the history emptied and the tables vacuumed, so each run
    starts alike and none of this falls in the measured window."""
    setup = target.for_setup()
    if tpcb_scale(setup) == scale:
        with setup.connect() as conn:
            conn.execute("TRUNCATE public.pgbench_history")
            conn.execute("VACUUM ANALYZE public.pgbench_branches, public.pgbench_tellers, public.pgbench_accounts")
        return
    _run(setup, ["-i", "-I", "dtGvp", "-s", str(scale)], timeout=900)
