"""Reads about whole lab hosts."""

from chaoslib.types import Configuration, Secrets

from roadie.chaos.context import DAMAGE, lab
from roadie.lab import hosts as lab_hosts

__all__ = ["broken_hosts", "host_powered_on"]


def host_powered_on(host: str, configuration: Configuration | None = None, secrets: Secrets | None = None) -> bool:
    """Whether the host's machine is running (powered on)."""
    return lab_hosts.is_powered_on(lab(configuration).host(host))


def broken_hosts(configuration: Configuration | None = None, secrets: Secrets | None = None) -> list[str]:
    """Hosts this chaos run powered off, froze or cut off and has not healed yet."""
    with DAMAGE.lock:
        return sorted(DAMAGE.off | DAMAGE.frozen | DAMAGE.isolated)
