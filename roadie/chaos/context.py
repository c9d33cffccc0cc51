"""What every chaos activity needs: the lab, where its services answer, its credentials,
and which hosts this chaos run has broken (so the rollbacks heal exactly those).

Chaos Toolkit runs every activity of an experiment in one Python process, so state kept
here lasts from the method to the rollbacks.
"""

import logging
import threading
from dataclasses import dataclass, field

from chaoslib.types import Configuration

from roadie.drills.endpoints import Endpoints, discover
from roadie.lab.inventory import Lab, load_lab
from roadie.lab.secrets import load_secrets

# Broken connections are the point of an experiment; psycopg's warnings about them are noise.
logging.getLogger("psycopg").setLevel(logging.ERROR)


@dataclass
class Damage:
    """Hosts this process powered off, froze or cut off, and not yet healed."""

    off: set[str] = field(default_factory=set)
    frozen: set[str] = field(default_factory=set)
    isolated: set[str] = field(default_factory=set)
    # When the latest fault took effect (epoch seconds, as the host reported it): recovery
    # times are measured from here.
    fault_at: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


DAMAGE = Damage()


def record_fault(stamps: dict[str, float]) -> dict[str, float]:
    """Remember when a fault took effect (the earliest host), and pass its stamps on."""
    if stamps:
        DAMAGE.fault_at = min(stamps.values())
    return stamps


def lab(configuration: Configuration | None = None) -> Lab:
    """The lab of the experiment's `roadie_profile` configuration, else of the profile it was
    brought up with."""
    return load_lab((configuration or {}).get("roadie_profile"))


def endpoints(configuration: Configuration | None = None) -> Endpoints:
    return discover(lab(configuration))


def secrets(configuration: Configuration | None = None) -> dict[str, str]:
    return load_secrets(lab(configuration).secrets_file)


# The Patroni leader / Redis master when a fault hit it, so a probe can wait for a new one.
FAULTED: dict[str, str] = {}
