"""A lab host behaves like a machine: its init restarts crashed processes; power loss is final
until the host is powered on again."""

import os
import signal
import time

import redis

from roadie.lab import cgroup, hosts
from tests.support import manifest, wait_until


def replica_cache_host(lab, secrets):
    for host in lab.group("redis"):
        entry = manifest(host, "redis")
        client = redis.Redis(
            host=entry["address"],
            port=int(entry["ports"]["redis"]),
            username="admin",
            password=secrets["redis_admin"],
            socket_timeout=2,
        )
        if client.execute_command("ROLE")[0] == b"slave":
            return host, client
    raise AssertionError("no Redis replica found")


def redis_pid(host):
    for program in hosts.programs(host):
        if program.name == "redis" and program.state == "RUNNING":
            return int(program.detail.split("pid ")[1].split(",")[0])
    return None


def replica_link_up(client):
    info = client.info("replication")
    return info.get("role") == "slave" and info.get("master_link_status") == "up"


def test_crashed_process_is_restarted_by_the_hosts_supervisor(lab, lab_secrets, running_hosts):
    host, client = replica_cache_host(lab, lab_secrets)
    old_pid = redis_pid(host)
    os.kill(old_pid, signal.SIGKILL)
    new_pid = wait_until(lambda: (p := redis_pid(host)) and p != old_pid and p, 20, "redis to be restarted")
    assert new_pid in cgroup.pids(host.name)
    assert wait_until(lambda: replica_link_up(client), 30, "the replica to resync")


def test_power_loss_is_final_until_the_host_is_powered_on(lab, lab_secrets, running_hosts):
    host, client = replica_cache_host(lab, lab_secrets)
    hosts.crash(host)
    assert cgroup.pids(host.name) == []
    assert not hosts.is_powered_on(host)
    # Nothing may bring a powered-off host back: watch it stay dark for a while.
    observed_until = time.monotonic() + 3
    while time.monotonic() < observed_until:
        assert cgroup.pids(host.name) == []
        time.sleep(0.25)
    assert hosts.power_on(host) is True
    assert wait_until(lambda: replica_link_up(client), 60, "the host's replica to come back")
    assert hosts.power_on(host) is False  # already on: powering on again changes nothing


def test_freeze_pauses_every_process_of_the_host(lab, lab_secrets, running_hosts):
    host, client = replica_cache_host(lab, lab_secrets)
    cgroup.freeze(host.name)
    try:
        assert wait_until(lambda: cgroup.is_frozen(host.name), 5, "the cgroup to freeze")
        entry = manifest(host, "redis")
        frozen = redis.Redis(
            host=entry["address"],
            port=int(entry["ports"]["redis"]),
            username="admin",
            password=lab_secrets["redis_admin"],
            socket_timeout=1,
            socket_connect_timeout=1,
        )
        try:
            frozen.ping()
            answered = True
        except redis.TimeoutError:
            answered = False
        assert not answered, "a frozen host answered"
    finally:
        cgroup.thaw(host.name)
    assert wait_until(client.ping, 10, "the host to answer after thawing")
