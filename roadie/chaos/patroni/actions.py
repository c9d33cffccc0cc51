"""Faults aimed at whichever member is the Patroni leader when the action runs."""

from chaoslib.types import Configuration, Secrets

from roadie.chaos.context import FAULTED, endpoints, lab, record_fault
from roadie.chaos.lab import actions as lab_actions
from roadie.drills import cluster, faults
from roadie.errors import RoadieError
from roadie.services import registry

__all__ = [
    "freeze_leader_host",
    "isolate_leader_host",
    "power_off_leader_az",
    "power_off_leader_host",
    "switchover",
]


def _leader(configuration: Configuration | None) -> str:
    leader = cluster.patroni_leader(endpoints(configuration))
    if leader is None:
        raise RoadieError("the Patroni cluster has no single leader: heal it before injecting a fault")
    FAULTED["patroni"] = leader
    return leader


def power_off_leader_host(
    configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, float]:
    """Power loss of the host running the Patroni leader (PostgreSQL, Patroni, etcd and
    everything else on it die at once). Returns the host and when it went down."""
    return lab_actions.power_off_hosts([_leader(configuration)], configuration)


def freeze_leader_host(configuration: Configuration | None = None, secrets: Secrets | None = None) -> dict[str, float]:
    """Freeze the leader's whole host; it keeps its sockets but answers nothing."""
    return lab_actions.freeze_hosts([_leader(configuration)], configuration)


def isolate_leader_host(configuration: Configuration | None = None, secrets: Secrets | None = None) -> dict[str, float]:
    """Cut the leader's host off the network: it must demote once its lock expires."""
    return lab_actions.isolate_hosts([_leader(configuration)], configuration)


def power_off_leader_az(configuration: Configuration | None = None, secrets: Secrets | None = None) -> dict[str, float]:
    """Power loss of every running host in the zone (of the primary region) that holds the
    Patroni leader: a whole availability zone down."""
    leader = lab(configuration).host(_leader(configuration))
    return lab_actions.power_off_az(leader.az, leader.region, configuration)


def switchover(
    candidate: str = "", configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, float]:
    """Planned switchover (`patronictl switchover --force`) from the leader to `candidate`,
    by default its synchronous standby."""
    the_endpoints = endpoints(configuration)
    leader = _leader(configuration)
    if not candidate:
        sync = [m.name for m in cluster.patroni_members(the_endpoints) if m.role == "sync_standby"]
        if not sync:
            raise RoadieError(f"Patroni leader {leader} has no synchronous standby to switch over to")
        candidate = sync[0]
    host = lab(configuration).host(leader)
    entry = registry.service(host, "patroni")
    at = faults.switchover(lab(configuration), leader, candidate, entry.text("patronictl"), entry.text("config"))
    return record_fault({leader: at})
