"""Host checks with testinfra's ansible backend over the lab inventory: every service
listens on its own host's address only, runs inside its host's cgroup, and keeps its
configuration and secrets private."""

import os

import pytest
import testinfra

from roadie.lab import hosts
from roadie.lab.inventory import load_lab
from roadie.lab.lifecycle import current_profile
from roadie.paths import lab_inventory_dir

LAB = load_lab()
# Hosts of the current profile that run at least one service.
# Hosts with a service that runs; a standby's services (the DR app tier, started by the
# region failover) are installed but not running.
RUNNING = [h for h in LAB.in_profile(current_profile(LAB)) if any(m.get("enabled", True) for m in hosts.manifests(h))]

# Files a role writes that hold secrets: the owner that must be the only reader, and the mode.
PRIVATE_FILES = {
    "patroni": [("etc/patroni/patroni.yml", "postgres", 0o600)],
    "redis": [("etc/redis/redis.conf", "redis", 0o600), ("etc/redis/redis.seed.conf", "redis", 0o600)],
    "sentinel": [("etc/redis-sentinel/sentinel.conf", "redis", 0o600)],
    "rabbitmq": [("var/lib/rabbitmq/.erlang.cookie", "rabbitmq", 0o400)],
}


def infra_host(name):
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={lab_inventory_dir()}")


def service_ports():
    for host in RUNNING:
        for entry in (m for m in hosts.manifests(host) if m.get("enabled", True)):
            for port_name, port in entry.get("ports", {}).items():
                yield pytest.param(host, entry, int(port), id=f"{host.name}-{entry['name']}-{port_name}")


@pytest.mark.parametrize(("host", "entry", "port"), list(service_ports()))
def test_service_listens_on_its_host_address_only(host, entry, port):
    target = infra_host(host.name)
    assert target.socket(f"tcp://{host.address}:{port}").is_listening
    assert not target.socket(f"tcp://0.0.0.0:{port}").is_listening
    assert not target.socket(f"tcp://127.0.0.1:{port}").is_listening


@pytest.mark.parametrize("host", RUNNING, ids=lambda h: h.name)
def test_every_listening_process_runs_in_its_hosts_cgroup(host):
    target = infra_host(host.name)
    listeners = target.check_output(f"ss -Htlnp src {host.address}")
    pids = {
        int(part.split("pid=")[1].split(",")[0])
        for part in listeners.split()
        # epmd is the one machine-wide daemon: every RabbitMQ host of the lab shares it (one
        # port mapper per machine), so it belongs to no single host (see the rabbitmq role).
        if "pid=" in part and not part.startswith('users:(("epmd"')
    }
    assert pids, f"nothing listens on {host.address}"
    for pid in pids:
        cgroup_line = target.file(f"/proc/{pid}/cgroup").content_string.splitlines()[-1]
        assert cgroup_line.endswith(f"/roadie/{host.name}"), (pid, cgroup_line)


@pytest.mark.parametrize("host", RUNNING, ids=lambda h: h.name)
def test_host_supervisor_is_private_to_root(host):
    target = infra_host(host.name)
    conf = target.file(f"{host.root}/etc/supervisord.conf")
    assert (conf.user, conf.mode) == ("root", 0o600)
    for program in target.file(f"{host.root}/etc/supervisor.d").listdir():
        program_file = target.file(f"{host.root}/etc/supervisor.d/{program}")
        assert program_file.mode == 0o600, program


def private_files():
    for host in RUNNING:
        for entry in hosts.manifests(host):
            for relative, owner, mode in PRIVATE_FILES.get(str(entry["kind"]), []):
                yield pytest.param(host, relative, owner, mode, id=f"{host.name}-{relative}")


@pytest.mark.parametrize(("host", "relative", "owner", "mode"), list(private_files()))
def test_secret_bearing_files_are_readable_by_their_service_only(host, relative, owner, mode):
    config = infra_host(host.name).file(f"{host.root}/{relative}")
    assert config.exists
    assert (config.user, config.mode) == (owner, mode)


def test_lab_secrets_file_is_0600_root():
    secrets = infra_host(RUNNING[0].name).file(str(LAB.secrets_file))
    assert (secrets.user, secrets.group, secrets.mode) == ("root", "root", 0o600)


@pytest.mark.parametrize("host", [h for h in RUNNING if "postgres" in h.groups], ids=lambda h: h.name)
def test_postgres_data_directory_is_private(host):
    data = infra_host(host.name).file(f"{host.root}/var/lib/postgresql/15/main")
    assert (data.user, data.mode) == ("postgres", 0o700)


@pytest.mark.parametrize("host", RUNNING, ids=lambda h: h.name)
def test_services_read_nothing_from_stdin(host):
    """Like systemd's StandardInput=null: no service holds a pipe from the host's supervisord
    as its stdin (the children it forks, e.g. PostgreSQL under Patroni, would inherit it)."""
    pids = [int(p.detail.split("pid ")[1].split(",")[0]) for p in hosts.programs(host) if p.state == "RUNNING"]
    assert pids, f"{host.name} runs no program"
    for pid in pids:
        assert os.readlink(f"/proc/{pid}/fd/0") == "/dev/null", (host.name, pid)
