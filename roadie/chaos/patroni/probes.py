"""Reads of the Patroni cluster, through its members' REST APIs."""

from chaoslib.types import Configuration, Secrets

from roadie.chaos.context import FAULTED, endpoints
from roadie.drills import cluster
from roadie.polling import poll_until

__all__ = ["healthy", "leader", "wait_for_new_leader", "wait_until_healthy"]


def leader(configuration: Configuration | None = None, secrets: Secrets | None = None) -> str:
    """The name of the single Patroni leader, or "" when there is none (or more than one)."""
    return cluster.patroni_leader(endpoints(configuration)) or ""


def healthy(configuration: Configuration | None = None, secrets: Secrets | None = None) -> bool:
    """One leader, a synchronous standby, and every member running or streaming."""
    return cluster.patroni_healthy(endpoints(configuration))


def wait_for_new_leader(
    timeout_s: float = 60.0, configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, object]:
    """Wait until a member other than the one the last fault hit is leader; returns it and
    the seconds waited. Fails naming the old leader if none takes over in time."""
    old = FAULTED.get("patroni", "")
    the_endpoints = endpoints(configuration)
    waited = poll_until(
        lambda: cluster.patroni_leader(the_endpoints) not in (None, old), timeout_s, f"a new leader instead of {old}"
    ).seconds
    return {"leader": cluster.patroni_leader(the_endpoints), "previous": old, "waited_s": round(waited, 2)}


def wait_until_healthy(
    timeout_s: float = 120.0, configuration: Configuration | None = None, secrets: Secrets | None = None
) -> float:
    """Wait until the cluster is healthy again (every member back and streaming); returns
    the seconds waited."""
    the_endpoints = endpoints(configuration)
    return round(poll_until(lambda: cluster.patroni_healthy(the_endpoints), timeout_s, "a healthy Patroni").seconds, 2)
