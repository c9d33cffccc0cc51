"""Start and stop the background probe workload."""

from chaoslib.types import Configuration, Secrets

from roadie.chaos.context import lab
from roadie.chaos.workload import background
from roadie.chaos.workload.probes import summary

__all__ = ["start_workload", "stop_workload"]


def start_workload(
    duration_s: float = 180.0,
    interval_s: float = 0.05,
    http_path: str = "",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> str:
    """Start the probe workload in the background: one database write (through HAProxy's
    read-write port), one database read (read-only port) and one Redis write (through
    Sentinel) every `interval_s`, plus a GET of `http_path` through the app load balancer
    when given; and a watcher that writes to every PostgreSQL member directly to catch
    two writable primaries. It stops by itself after `duration_s`. Returns its run id."""
    return background.start(lab(configuration), duration_s, interval_s, http_path).ctx.run_id


def stop_workload(configuration: Configuration | None = None, secrets: Secrets | None = None) -> dict[str, object]:
    """Stop the workload and return its summary over the whole run (see the summary probe)."""
    background.stop()
    return summary(configuration)
