"""The CPU meter's arithmetic: tiers from inventory groups, per-operation CPU, the part of the
machine's CPU no lab host used, and windows that may not include their phase's set-up."""

import os
from pathlib import Path

import pytest

from roadie.bench.cpu import OTHER, CpuSample, CpuUse, _machine_busy, tier_of, window
from roadie.errors import RoadieError

TIERS = {"app-1": "app nodes (web + worker)", "db-1": "database (Patroni members)"}


def test_a_host_belongs_to_the_first_matching_tier() -> None:
    assert tier_of(("r1_az1", "etcd", "postgres", "postgres_exporter")) == "database (Patroni members)"
    assert tier_of(("r1_regional", "pg_lb")) == "PostgreSQL HAProxy"
    assert tier_of(("r1_az2", "redis", "sentinel", "redis_exporter")) == "Redis + Sentinel"
    assert tier_of(("r2_az1", "postgres_dr", "etcd_dr")) == OTHER


def test_per_operation_and_outside_the_lab() -> None:
    use = CpuUse(seconds=10.0, tiers={"app nodes (web + worker)": 2.0, "RabbitMQ": 1.0}, machine_busy=4.0)
    assert use.per_operation_ms(1000) == {"app nodes (web + worker)": 2.0, "RabbitMQ": 1.0}
    assert use.machine_ms(1000) == 4.0
    assert use.outside_lab == 1.0
    assert use.busy_cores() == 0.4


def test_no_operations_is_not_measured_never_the_whole_window() -> None:
    use = CpuUse(seconds=10.0, tiers={"RabbitMQ": 1.0}, machine_busy=4.0)
    assert use.per_operation_ms(0) is None
    assert use.machine_ms(0) is None
    assert use.outside_ms(0) is None


def test_a_window_divides_what_happened_between_its_samples() -> None:
    start = CpuSample(at=100.0, hosts={"app-1": 5.0, "db-1": 7.0}, machine_busy=50.0)
    end = CpuSample(at=110.0, hosts={"app-1": 8.0, "db-1": 8.5}, machine_busy=56.0)
    use = window(start, end, TIERS, setup_done=99.0)
    assert use.seconds == 10.0
    assert use.tiers == {"app nodes (web + worker)": 3.0, "database (Patroni members)": 1.5}
    assert use.machine_busy == 6.0


def test_a_window_that_includes_setup_is_rejected() -> None:
    # The old benchmark's bug: the sample taken, then 20,000 ticket rows created, then the load.
    start = CpuSample(at=100.0, hosts={"app-1": 5.0, "db-1": 7.0}, machine_busy=50.0)
    end = CpuSample(at=130.0, hosts={"app-1": 8.0, "db-1": 20.0}, machine_busy=80.0)
    with pytest.raises(RoadieError, match="before its phase's set-up ended"):
        window(start, end, TIERS, setup_done=112.0)
    with pytest.raises(RoadieError, match="ends before it starts"):
        window(end, start, TIERS, setup_done=0.0)


def test_machine_busy_counts_everything_but_idle_and_iowait(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    # user nice system idle iowait irq softirq steal
    stat.write_text("cpu  100 0 50 1000 30 5 5 10 0 0\ncpu0 1 2 3 4\n")
    assert _machine_busy(stat) * os.sysconf("SC_CLK_TCK") == 170
