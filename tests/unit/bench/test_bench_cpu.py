"""The CPU meter's arithmetic: tiers from inventory groups, per-operation CPU, and the part
of the machine's CPU no lab host used."""

import os
from pathlib import Path

from roadie.bench.cpu import OTHER, CpuUse, _machine_busy, tier_of


def test_a_host_belongs_to_the_first_matching_tier() -> None:
    assert tier_of(("r1_az1", "etcd", "postgres", "postgres_exporter")) == "database (Patroni members)"
    assert tier_of(("r1_regional", "pg_lb")) == "PostgreSQL HAProxy"
    assert tier_of(("r1_az2", "redis", "sentinel", "redis_exporter")) == "Redis + Sentinel"
    assert tier_of(("r2_az1", "postgres_dr", "etcd_dr")) == OTHER


def test_per_operation_and_outside_the_lab() -> None:
    use = CpuUse(seconds=10.0, tiers={"app nodes (web + worker)": 2.0, "RabbitMQ": 1.0}, machine_busy=4.0)
    assert use.per_operation_ms(1000) == {"app nodes (web + worker)": 2.0, "RabbitMQ": 1.0}
    assert use.outside_lab == 1.0
    # No operations: per-operation CPU is the phase's CPU, never a division by zero.
    assert use.per_operation_ms(0)["RabbitMQ"] == 1000.0


def test_machine_busy_counts_everything_but_idle_and_iowait(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    # user nice system idle iowait irq softirq steal
    stat.write_text("cpu  100 0 50 1000 30 5 5 10 0 0\ncpu0 1 2 3 4\n")
    assert _machine_busy(stat) * os.sysconf("SC_CLK_TCK") == 170
