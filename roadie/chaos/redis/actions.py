"""Faults aimed at whichever Redis node the Sentinels name as master."""

from chaoslib.types import Configuration, Secrets

from roadie.chaos.context import FAULTED, endpoints
from roadie.chaos.context import secrets as lab_secrets
from roadie.chaos.lab import actions as lab_actions
from roadie.drills import cluster
from roadie.errors import RoadieError

__all__ = ["power_off_master_host"]


def power_off_master_host(
    configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, float]:
    """Power loss of the host running the Redis master (and the Sentinel beside it)."""
    master = cluster.redis_master(endpoints(configuration), lab_secrets(configuration))
    if master is None:
        raise RoadieError("the Sentinels name no Redis master (service 'roadie'): heal Redis first")
    FAULTED["redis"] = master
    return lab_actions.power_off_hosts([master], configuration)
