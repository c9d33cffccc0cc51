"""One cross-check of a closed-loop figure with wrk (Debian package `wrk`), a C load generator:
if roadie's Python generator reported much less than wrk against the same URL, the generator,
not the server, was what it measured. wrk not installed: the cross-check is "not measured"."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

from roadie.errors import RoadieError

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
REQUESTS = re.compile(r"^\s*(\d+) requests in ([0-9.]+)(us|ms|s|m),", re.MULTILINE)
P99 = re.compile(r"^\s*99(?:\.000)?%\s+([0-9.]+)(us|ms|s|m)\s*$", re.MULTILINE)
NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    not_ok: int  # non-2xx/3xx answers and socket errors
    p99_ms: float

    @property
    def ok_rate(self) -> float:
        return (self.requests - self.not_ok) / self.seconds


def parse(output: str) -> WrkResult:
    requests, p99 = REQUESTS.search(output), P99.search(output)
    if not requests or not p99:
        raise RoadieError(f"could not read wrk's results from: {output[-300:]}")
    non_2xx = NON_2XX.search(output)
    errors = SOCKET_ERRORS.search(output)
    not_ok = (int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, errors.groups())) if errors else 0)
    seconds = float(requests.group(2)) * UNITS[requests.group(3)] / 1000
    return WrkResult(int(requests.group(1)), seconds, not_ok, float(p99.group(1)) * UNITS[p99.group(2)])


def run(url: str, *, connections: int, seconds: int) -> WrkResult | None:
    """wrk with one thread (as roadie's generator uses one core); None when wrk is not installed."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    argv = [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if result.returncode != 0:
        raise RoadieError(f"wrk failed: {(result.stderr or result.stdout).strip()[-300:]}")
    return parse(result.stdout)
