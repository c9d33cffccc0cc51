"""Where a benchmark's CPU went: each lab host's cgroup CPU time over a phase, grouped into the
platform's tiers, plus the machine's busy time.

On the lab every tier shares one machine's cores, so a throughput ratio measured there also
says how the tiers split those cores. Per-operation CPU per tier says what each tier would
sustain on cores of its own (as in production, where they run on separate hosts).

A window must start after its phase's set-up (creating rows, `pgbench -i`, warm-up) ended:
`window` refuses one that does not, so no set-up is ever divided by the phase's operations.
A per-operation figure of a window without operations is None ("not measured"), never the
whole window's CPU.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from roadie.errors import RoadieError
from roadie.lab import cgroup
from roadie.lab.inventory import Lab

# Tier of a host: the first of its inventory groups found here (order matters: HAProxy hosts
# are load balancers, not database hosts).
TIERS: tuple[tuple[str, str], ...] = (
    ("postgres", "database (Patroni members)"),
    ("app", "app nodes (web + worker)"),
    ("rabbitmq", "RabbitMQ"),
    ("redis", "Redis + Sentinel"),
    ("lb", "app load balancer"),
    ("pg_lb", "PostgreSQL HAProxy"),
)
OTHER = "other lab hosts"


@dataclass(frozen=True)
class CpuSample:
    at: float
    hosts: dict[str, float]  # host -> CPU seconds used so far
    machine_busy: float  # CPU seconds the whole machine was busy so far


@dataclass(frozen=True)
class CpuUse:
    seconds: float  # wall-clock length of the window
    tiers: dict[str, float]  # tier -> CPU seconds in the window
    machine_busy: float  # CPU seconds of the whole machine in the window

    def per_operation_ms(self, operations: int) -> dict[str, float] | None:
        """CPU milliseconds per operation by tier; None when no operation was counted."""
        if operations <= 0:
            return None
        return {tier: 1000 * cpu / operations for tier, cpu in self.tiers.items()}

    def machine_ms(self, operations: int) -> float | None:
        """Whole-machine CPU milliseconds per operation; None when no operation was counted."""
        return 1000 * self.machine_busy / operations if operations > 0 else None

    def outside_ms(self, operations: int) -> float | None:
        return 1000 * self.outside_lab / operations if operations > 0 else None

    def busy_cores(self) -> float:
        """Cores the whole machine kept busy on average over the window."""
        return self.machine_busy / self.seconds if self.seconds > 0 else 0.0

    @property
    def outside_lab(self) -> float:
        """CPU seconds outside every lab host (the load generator, pgbench, anything else)."""
        return max(0.0, self.machine_busy - sum(self.tiers.values()))


class CpuMeter:
    def __init__(self, lab: Lab) -> None:
        self._tier = {host.name: tier_of(host.groups) for host in lab.hosts}

    def sample(self) -> CpuSample:
        return CpuSample(time.monotonic(), {h: _host_cpu(h) for h in self._tier}, _machine_busy())

    def since(self, start: CpuSample, *, setup_done: float) -> CpuUse:
        """The window from `start` to now; `setup_done`: when the phase's set-up ended."""
        return window(start, self.sample(), self._tier, setup_done=setup_done)


def window(start: CpuSample, end: CpuSample, tier_of_host: dict[str, str], *, setup_done: float) -> CpuUse:
    """CPU used between two samples, by tier; refused when it would include set-up work."""
    if start.at < setup_done:
        raise RoadieError(
            f"a CPU window starts {setup_done - start.at:.2f}s before its phase's set-up ended: "
            "its per-operation figures would include the set-up (a bug in the benchmark)"
        )
    if end.at <= start.at:
        raise RoadieError("a CPU window ends before it starts (a bug in the benchmark)")
    tiers: dict[str, float] = {}
    for host, tier in tier_of_host.items():
        tiers[tier] = tiers.get(tier, 0.0) + max(0.0, end.hosts[host] - start.hosts[host])
    return CpuUse(end.at - start.at, tiers, end.machine_busy - start.machine_busy)


def tier_of(groups: frozenset[str] | set[str] | tuple[str, ...]) -> str:
    return next((name for group, name in TIERS if group in groups), OTHER)


def _host_cpu(host: str) -> float:
    stat = cgroup.group_path(host) / "cpu.stat"
    try:
        fields = dict(line.split() for line in stat.read_text().splitlines())
    except OSError:  # a host that is powered off has no group
        return 0.0
    return int(fields.get("usage_usec", 0)) / 1e6


def _machine_busy(stat: Path = Path("/proc/stat")) -> float:
    """Busy CPU seconds of the machine since boot (all but idle and iowait)."""
    values = [int(v) for v in stat.read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")
