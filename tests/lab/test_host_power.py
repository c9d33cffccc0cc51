"""A lab host behaves like a machine: its systemd restarts crashed processes and brings enabled
services back after a boot; power loss is final until the host is powered on again; a guest
reboot comes back by itself; freezing and isolating stop it from answering until healed."""

import time

import redis

from roadie.lab import cgroup, hosts, machines
from roadie.services import internal_tls
from tests.support import manifest, wait_until


def replica_cache_host(lab, secrets):
    for host in lab.group("redis"):
        client = redis_client(host, secrets)
        if client.execute_command("ROLE")[0] == b"slave":
            return host, client
    raise AssertionError("no Redis replica found")


def redis_client(host, secrets, timeout=2):
    entry = manifest(host, "redis")
    return redis.Redis(
        host=entry["address"],
        port=int(entry["ports"]["redis"]),
        username="admin",
        password=secrets["redis_admin"],
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        **internal_tls.redis_options(),
    )


def redis_pid(host):
    state = next((s for s in hosts.services(host) if s.name == "redis"), None)
    return state.pid if state and state.state == "RUNNING" else None


def replica_link_up(client):
    info = client.info("replication")
    return info.get("role") == "slave" and info.get("master_link_status") == "up"


def boot_id(host):
    return hosts.run(host, ["cat", "/proc/sys/kernel/random/boot_id"], timeout=10).stdout.strip()


def test_crashed_process_is_restarted_by_the_hosts_systemd(lab, lab_secrets, running_hosts):
    host, client = replica_cache_host(lab, lab_secrets)
    old_pid = redis_pid(host)
    assert old_pid
    hosts.kill_service(host, "redis")
    new_pid = wait_until(lambda: (p := redis_pid(host)) and p != old_pid and p, 20, "redis to be restarted")
    assert new_pid != old_pid
    assert wait_until(lambda: replica_link_up(client), 30, "the replica to resync")


def test_power_loss_is_final_until_the_host_is_powered_on(lab, lab_secrets, running_hosts):
    host, client = replica_cache_host(lab, lab_secrets)
    before = boot_id(host)
    hosts.crash(host)
    assert not hosts.is_powered_on(host)
    # Nothing may bring a powered-off host back: watch it stay dark for a while.
    observed_until = time.monotonic() + 3
    while time.monotonic() < observed_until:
        assert cgroup.pids(host.name) == []
        assert not cgroup.is_populated(host.name)
        time.sleep(0.25)
    assert hosts.power_on(host) is True
    # Its enabled services come back by themselves: nobody runs Ansible here.
    assert wait_until(lambda: replica_link_up(client), 60, "the host's replica to come back")
    assert boot_id(host) != before
    assert hosts.power_on(host) is False  # already on: powering on again changes nothing


def test_a_reboot_inside_the_host_boots_it_again(lab, lab_secrets, running_hosts):
    host, client = replica_cache_host(lab, lab_secrets)
    before = boot_id(host)
    hosts.run(host, ["systemctl", "reboot"], timeout=10, check=False)
    assert wait_until(lambda: hosts.is_powered_on(host) and boot_id(host) != before, 60, "the host to boot again")
    assert wait_until(lambda: replica_link_up(client), 60, "the host's replica to come back")


def test_freeze_pauses_every_process_of_the_host(lab, lab_secrets, running_hosts):
    host, client = replica_cache_host(lab, lab_secrets)
    cgroup.freeze(host.name)
    try:
        assert wait_until(lambda: cgroup.is_frozen(host.name), 5, "the cgroup to freeze")
        frozen = redis_client(host, lab_secrets, timeout=1)
        try:
            frozen.ping()
            answered = True
        except redis.TimeoutError:
            answered = False
        assert not answered, "a frozen host answered"
    finally:
        cgroup.thaw(host.name)
    assert wait_until(client.ping, 10, "the host to answer after thawing")


def test_isolating_a_host_cuts_it_off_until_it_is_connected_again(lab, lab_secrets, running_hosts):
    """Every packet the host sends is dropped: nothing it serves answers, and it reaches no peer
    (its replica loses its master)."""
    host, client = replica_cache_host(lab, lab_secrets)
    machines.isolate(host.machine)
    try:
        cut_off = redis_client(host, lab_secrets, timeout=1)
        try:
            cut_off.ping()
            answered = True
        except (redis.TimeoutError, redis.ConnectionError):
            answered = False
        assert not answered, "an isolated host answered"
    finally:
        machines.connect(host.machine)
    assert wait_until(client.ping, 10, "the host to answer after reconnecting")
