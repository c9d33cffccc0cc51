"""Where a benchmark's CPU went: each lab host's cgroup CPU time over a phase, grouped into the
platform's tiers, plus the machine's busy time.

On the lab every tier shares one machine's cores, so a throughput ratio measured there also
says how the tiers split those cores. Per-operation CPU per tier says what each tier would
sustain on cores of its own (as in production, where they run on separate hosts).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

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
    seconds: float  # wall-clock length of the phase
    tiers: dict[str, float]  # tier -> CPU seconds in the phase
    machine_busy: float  # CPU seconds of the whole machine in the phase

    def per_operation_ms(self, operations: int) -> dict[str, float]:
        return {tier: 1000 * cpu / max(1, operations) for tier, cpu in self.tiers.items()}

    @property
    def outside_lab(self) -> float:
        """CPU seconds outside every lab host (the load generator, pgbench, anything else)."""
        return max(0.0, self.machine_busy - sum(self.tiers.values()))


class CpuMeter:
    def __init__(self, lab: Lab) -> None:
        self._tier = {host.name: tier_of(host.groups) for host in lab.hosts}

    def sample(self) -> CpuSample:
        return CpuSample(time.monotonic(), {h: _host_cpu(h) for h in self._tier}, _machine_busy())

    def since(self, start: CpuSample) -> CpuUse:
        end = self.sample()
        tiers: dict[str, float] = {}
        for host, tier in self._tier.items():
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
