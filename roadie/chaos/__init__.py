"""Chaos Toolkit actions and probes for roadie's platform, one subpackage per subsystem.

Each subsystem (`lab`, `patroni`, `redis`, `workload`, `invariants`) has `actions.py`
(things that change the platform) and `probes.py` (things that read it); what each module
lists in `__all__` is what experiments may call. `roadie chaos activities` lists them,
built from the package itself so the list cannot drift from the code; `discover()` gives
the same list in Chaos Toolkit's discovery format.
"""

import importlib
import pkgutil

from chaoslib.discovery.discover import discover_activities, initialize_discovery_result
from chaoslib.types import DiscoveredActivities, Discovery

__all__ = ["activities", "discover", "subsystems"]

KINDS = {"actions": "action", "probes": "probe"}


def subsystems() -> list[str]:
    """The subpackages of roadie.chaos, each one subsystem of the platform."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.ispkg)


def activities() -> list[DiscoveredActivities]:
    """Every exported action and probe, typed by the module it lives in."""
    found: list[DiscoveredActivities] = []
    for subsystem in subsystems():
        for module, kind in KINDS.items():
            name = f"{__name__}.{subsystem}.{module}"
            importlib.import_module(name)
            found.extend(discover_activities(name, kind))
    return found


def discover(discover_system: bool = True) -> Discovery:
    """The activities in Chaos Toolkit's discovery format (what `chaos discover` writes)."""
    result = initialize_discovery_result("roadie", "0", "roadie")
    result["activities"].extend(activities())
    return result
