"""Host checks with testinfra over SSH, through the lab's own inventory (the deploy user, the
lab's key, pinned host keys, sudo), as they would run against production hosts: every
service is an enabled, running systemd unit under its own user, listens only on its host's
address, and keeps its configuration and secrets private."""

import pytest
import testinfra

from roadie.lab import shared_epmd
from roadie.lab.inventory import load_lab
from roadie.services import registry

LAB = load_lab()
# Hosts with a service that runs; a standby's services (the DR app tier, started by the
# region failover) are installed but not enabled.
RUNNING = [h for h in LAB.hosts if any(s.enabled for s in registry.services(h))]
# Services whose main process keeps root: HAProxy's master (master-worker mode: it re-reads its
# configuration and binds on reload) serves nothing itself; its workers run as haproxy.
ROOT_MASTERS = {"haproxy-pg": "haproxy", "haproxy-lb": "haproxy"}

# Files a role writes that hold secrets: the owner that must be the only reader, and the mode.
PRIVATE_FILES = {
    "patroni": [("/etc/patroni/patroni.yml", "postgres", 0o600)],
    "redis": [("/etc/redis/redis.conf", "redis", 0o600), ("/etc/redis/redis.seed.conf", "redis", 0o600)],
    "sentinel": [("/etc/redis-sentinel/sentinel.conf", "redis", 0o600)],
    "rabbitmq": [("/var/lib/rabbitmq/.erlang.cookie", "rabbitmq", 0o400)],
}


def infra_host(name):
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={LAB.inventory_dir}")


def enabled_services():
    for host in RUNNING:
        for entry in registry.services(host):
            if entry.enabled:
                yield pytest.param(host, entry, id=f"{host.name}-{entry.name}")


def service_ports():
    for host in RUNNING:
        for entry in (s for s in registry.services(host) if s.enabled):
            for port_name, port in entry.ports.items():
                yield pytest.param(host, entry, port, id=f"{host.name}-{entry.name}-{port_name}")


def test_hosts_run_systemd_and_answer_as_the_deploy_user():
    target = infra_host(RUNNING[0].name)
    assert target.check_output("ps -o comm= -p 1") == "systemd"
    assert target.check_output("systemctl is-system-running || true") in ("running", "degraded")
    assert target.user().name == "root"  # through sudo
    assert target.run("sudo -n -k -u nobody true").rc == 0


@pytest.mark.parametrize(("host", "entry"), list(enabled_services()))
def test_every_service_is_an_enabled_running_unit_under_its_own_user(host, entry):
    target = infra_host(host.name)
    unit = target.service(entry.name)
    assert unit.is_enabled
    assert unit.is_running
    pid = target.check_output(f"systemctl show --property=MainPID --value {entry.name}.service")
    owner = target.check_output(f"ps -o user= -p {pid}")
    assert owner == entry.user, (entry.name, owner)
    if entry.name in ROOT_MASTERS:
        workers = set(target.check_output(f"ps -o user= --ppid {pid}").split())
        assert workers == {ROOT_MASTERS[entry.name]}, (entry.name, workers)
    else:
        assert owner != "root", f"{entry.name} runs as root"


@pytest.mark.parametrize(("host", "entry", "port"), list(service_ports()))
def test_service_listens_on_its_host_address_only(host, entry, port):
    target = infra_host(host.name)
    assert target.socket(f"tcp://{host.address}:{port}").is_listening
    assert not target.socket(f"tcp://0.0.0.0:{port}").is_listening
    assert not target.socket(f"tcp://127.0.0.1:{port}").is_listening


@pytest.mark.parametrize("host", RUNNING, ids=lambda h: h.name)
def test_everything_listening_on_the_hosts_address_is_the_hosts_own(host):
    """The hosts share one network: a socket on this host's address must belong to one of its
    own processes (ss shows the process only for sockets of its own PID namespace)."""
    listeners = infra_host(host.name).check_output(f"ss -Htlnp src {host.address}").splitlines()
    assert listeners, f"nothing listens on {host.address}"
    # The one exception: the epmd the lab's shared network runs for its RabbitMQ hosts.
    network = f"{host.address}:{shared_epmd.PORT} " if "rabbitmq_servers" in host.groups else None
    foreign = [line for line in listeners if "users:((" not in line and not (network and network in line)]
    assert not foreign, foreign


@pytest.mark.parametrize("host", RUNNING, ids=lambda h: h.name)
def test_services_read_nothing_from_stdin(host):
    """StandardInput=null for every unit: a child that outlives its parent (PostgreSQL under
    Patroni) never holds a pipe from the service manager."""
    target = infra_host(host.name)
    for entry in registry.services(host):
        value = target.check_output(f"systemctl show --property=StandardInput --value {entry.name}.service")
        assert value == "null", (entry.name, value)


def private_files():
    for host in RUNNING:
        for entry in registry.services(host):
            for path, owner, mode in PRIVATE_FILES.get(entry.kind, []):
                yield pytest.param(host, path, owner, mode, id=f"{host.name}-{path}")


@pytest.mark.parametrize(("host", "path", "owner", "mode"), list(private_files()))
def test_secret_bearing_files_are_readable_by_their_service_only(host, path, owner, mode):
    config = infra_host(host.name).file(path)
    assert config.exists
    assert (config.user, config.mode) == (owner, mode)


def test_lab_secrets_and_key_are_0600_root():
    for path in (LAB.secrets_file, LAB.ssh.private_key):
        stat = path.stat()
        assert (stat.st_uid, stat.st_gid, stat.st_mode & 0o777) == (0, 0, 0o600), path


@pytest.mark.parametrize("host", [h for h in RUNNING if "postgres" in h.groups], ids=lambda h: h.name)
def test_postgres_data_directory_is_private(host):
    data = infra_host(host.name).file("/var/lib/postgresql/15/main")
    assert (data.user, data.mode) == ("postgres", 0o700)


@pytest.mark.parametrize("host", RUNNING, ids=lambda h: h.name)
def test_no_package_default_service_runs(host):
    """Packages ship units the roles replace (redis-server, haproxy, epmd...): none runs."""
    target = infra_host(host.name)
    for unit in ("redis-server", "haproxy", "postgresql", "epmd.socket", "prometheus-node-exporter"):
        assert not target.service(unit).is_running, unit
