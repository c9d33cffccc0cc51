"""A throwaway PostgreSQL 15 for one test: initdb in a temporary directory, the server on a
127.x address outside the lab's address plan (R = 42 is no region) and a free port, started
and stopped by the PID this helper started. Run as the `postgres` user when the test runs as
root (PostgreSQL refuses to run as root), else as the current user."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

BIN = Path("/usr/lib/postgresql/15/bin")
HOST = "127.42.0.1"
READY_TIMEOUT_S = 30.0


def unavailable_reason() -> str | None:
    """Why no throwaway server can run here, or None."""
    if not (BIN / "postgres").exists():
        return f"no PostgreSQL 15 binaries in {BIN}"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to run the server as"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class ThrowawayPostgres:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="roadie-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._as: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            # setpriv execs the server itself: the PID we hold is the postmaster's.
            self._as = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"]
        self._run(str(BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def _run(self, *argv: str) -> None:
        subprocess.run([*self._as, *argv], check=True, capture_output=True, timeout=120)

    @property
    def log(self) -> Path:
        return self.dir / "server.log"

    def start(self, *settings: str) -> float:
        """Start the server (extra `name=value` settings on its command line); returns the
        monotonic time it accepted connections."""
        argv = [str(BIN / "postgres"), "-D", str(self.data), "-h", HOST, "-p", str(self.port), "-k", str(self.dir)]
        argv += ["-c", "fsync=off", "-c", "max_connections=40"]
        for setting in settings:
            argv += ["-c", setting]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([*self._as, *argv], stdout=log, stderr=log)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            ready = subprocess.run(
                [str(BIN / "pg_isready"), "-h", HOST, "-p", str(self.port), "-t", "1"], check=False, capture_output=True
            )
            if ready.returncode == 0:
                return time.monotonic()
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"PostgreSQL did not start; its log:\n{self.log.read_text()[-2000:]}")

    def stop(self, sig: signal.Signals = signal.SIGINT) -> None:
        """SIGINT: fast shutdown (what a switchover does to the old primary: sessions are
        terminated, committed work stays); SIGQUIT: immediate shutdown (a crash)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=60)
        self.proc = None

    def dsn(self, dbname: str = "postgres") -> str:
        return f"host={HOST} port={self.port} user=postgres dbname={dbname} connect_timeout=3"

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
