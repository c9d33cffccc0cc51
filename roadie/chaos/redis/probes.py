"""Reads of Redis and its Sentinels."""

from chaoslib.types import Configuration, Secrets

from roadie.chaos.context import FAULTED, endpoints
from roadie.chaos.context import secrets as lab_secrets
from roadie.drills import cluster
from roadie.polling import poll_until

__all__ = ["healthy", "master", "wait_for_new_master", "wait_until_healthy"]


def master(configuration: Configuration | None = None, secrets: Secrets | None = None) -> str:
    """The host the Sentinels name as master, or "" when none answers."""
    return cluster.redis_master(endpoints(configuration), lab_secrets(configuration)) or ""


def healthy(configuration: Configuration | None = None, secrets: Secrets | None = None) -> bool:
    """The master has every replica connected and every Sentinel sees a quorum."""
    return cluster.redis_healthy(endpoints(configuration), lab_secrets(configuration))


def wait_for_new_master(
    timeout_s: float = 30.0, configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, object]:
    """Wait until the Sentinels name a master other than the one the last fault hit;
    returns it and the seconds waited."""
    old = FAULTED.get("redis", "")
    the_endpoints, the_secrets = endpoints(configuration), lab_secrets(configuration)
    waited = poll_until(
        lambda: cluster.redis_master(the_endpoints, the_secrets) not in (None, old),
        timeout_s,
        f"a new Redis master instead of {old}",
    ).seconds
    return {"master": cluster.redis_master(the_endpoints, the_secrets), "previous": old, "waited_s": round(waited, 2)}


def wait_until_healthy(
    timeout_s: float = 120.0, configuration: Configuration | None = None, secrets: Secrets | None = None
) -> float:
    """Wait until every replica is connected and the Sentinels see a quorum again."""
    the_endpoints, the_secrets = endpoints(configuration), lab_secrets(configuration)
    waited = poll_until(lambda: cluster.redis_healthy(the_endpoints, the_secrets), timeout_s, "a healthy Redis").seconds
    return round(waited, 2)
