"""Faults on whole lab hosts, carried out by the drill playbooks (ansible/playbooks/drills/)
on each host's machine (its cgroup, its network), and the repairs that undo them."""

from chaoslib.types import Configuration, Secrets

from roadie.chaos.context import DAMAGE, lab, record_fault
from roadie.drills import faults
from roadie.errors import RoadieError
from roadie.lab import hosts as lab_hosts

__all__ = [
    "connect_hosts",
    "freeze_hosts",
    "heal",
    "isolate_hosts",
    "power_off_az",
    "power_off_hosts",
    "power_on_hosts",
    "thaw_hosts",
]


def _known(hosts: list[str], configuration: Configuration | None) -> list[str]:
    if not hosts:
        raise RoadieError("no lab host named: give at least one host")
    the_lab = lab(configuration)
    return [the_lab.host(name).name for name in hosts]  # raises naming an unknown host


def power_off_hosts(
    hosts: list[str], configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, float]:
    """Power loss of whole hosts: every process in each host's cgroup dies at once and
    nothing restarts it. Returns when it took effect on each host (epoch seconds)."""
    names = _known(hosts, configuration)
    with DAMAGE.lock:
        DAMAGE.off.update(names)
    return record_fault(faults.host_action(lab(configuration), names, "power-off"))


def power_on_hosts(
    hosts: list[str], configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, float]:
    """Boot each host again (its systemd starts the services enabled on it)."""
    names = _known(hosts, configuration)
    stamps = faults.power_on(lab(configuration), names)
    with DAMAGE.lock:
        DAMAGE.off.difference_update(names)
    return stamps


def freeze_hosts(
    hosts: list[str], configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, float]:
    """Freeze every process of each host (a VM pause or a long GC); thaw_hosts undoes it."""
    names = _known(hosts, configuration)
    with DAMAGE.lock:
        DAMAGE.frozen.update(names)
    return record_fault(faults.host_action(lab(configuration), names, "freeze"))


def thaw_hosts(
    hosts: list[str], configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, float]:
    """Let frozen hosts run again."""
    names = _known(hosts, configuration)
    stamps = faults.host_action(lab(configuration), names, "thaw")
    with DAMAGE.lock:
        DAMAGE.frozen.difference_update(names)
    return stamps


def isolate_hosts(
    hosts: list[str], configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, float]:
    """Cut hosts off the network (iptables on the host's cgroup): they keep running but
    reach no peer, etcd or client; connect_hosts undoes it."""
    names = _known(hosts, configuration)
    with DAMAGE.lock:
        DAMAGE.isolated.update(names)
    return record_fault(faults.host_action(lab(configuration), names, "isolate"))


def connect_hosts(
    hosts: list[str], configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, float]:
    """Remove the network cut from hosts."""
    names = _known(hosts, configuration)
    stamps = faults.host_action(lab(configuration), names, "connect")
    with DAMAGE.lock:
        DAMAGE.isolated.difference_update(names)
    return stamps


def power_off_az(
    az: int, region: int = 1, configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, float]:
    """Power loss of every running host in one availability zone of a region. Zone 0
    (the regional load balancers and managed services) never goes down with one zone."""
    if az == 0:
        raise RoadieError("zone 0 holds the regional services, which no zone outage takes down")
    the_lab = lab(configuration)
    names = [h.name for h in the_lab.hosts if (h.region, h.az) == (region, az) and lab_hosts.is_powered_on(h)]
    if not names:
        raise RoadieError(f"no running host in zone {az} of region {region}")
    return power_off_hosts(names, configuration)


def heal(configuration: Configuration | None = None, secrets: Secrets | None = None) -> dict[str, list[str]]:
    """Undo every fault this chaos run injected: thaw, reconnect and power on the hosts it
    broke. Safe to call when nothing is broken; meant for rollbacks."""
    with DAMAGE.lock:
        frozen, isolated, off = sorted(DAMAGE.frozen), sorted(DAMAGE.isolated), sorted(DAMAGE.off)
    if frozen:
        thaw_hosts(frozen, configuration)
    if isolated:
        connect_hosts(isolated, configuration)
    if off:
        power_on_hosts(off, configuration)
    return {"thawed": frozen, "connected": isolated, "powered_on": off}
