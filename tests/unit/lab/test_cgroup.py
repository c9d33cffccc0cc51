"""cgroup v2 control of lab hosts, on a real cgroup with a real process."""

import os
import subprocess

import pytest

from roadie.lab import cgroup

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="cgroups need root")


@pytest.fixture
def scratch_host():
    name = f"unit-test-{os.getpid()}"
    group = cgroup.group_path(name)
    group.mkdir(parents=True, exist_ok=True)
    child = subprocess.Popen(
        ["sh", "-c", f"echo $$ > {group}/cgroup.procs && exec sleep 60"],
    )
    try:
        yield name, child
    finally:
        cgroup.kill(name)
        child.wait(timeout=5)
        cgroup.remove(name)


def test_freeze_thaw_and_kill_act_on_the_group(scratch_host):
    name, child = scratch_host
    # The child moves itself into the group before exec'ing sleep.
    for _ in range(100):
        if child.pid in cgroup.pids(name):
            break
        subprocess.run(["sleep", "0.02"], check=True)
    assert cgroup.pids(name) == [child.pid]
    cgroup.freeze(name)
    for _ in range(100):
        if cgroup.is_frozen(name):
            break
        subprocess.run(["sleep", "0.02"], check=True)
    assert cgroup.is_frozen(name)
    cgroup.thaw(name)
    assert not cgroup.is_frozen(name)
    cgroup.kill(name)
    assert cgroup.pids(name) == []
    assert child.wait(timeout=5) == -9
