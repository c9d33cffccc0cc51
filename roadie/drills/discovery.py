"""Every drill, found from the packages that hold drills (as the chaos activities are found
from theirs): each concrete `Drill` subclass defined in a module of those packages, in the
packages' order, then each module's order of definition (the region failover comes before
its failback). `roadie drill list`, the per-drill commands and `roadie drill all` use this."""

import importlib
import inspect
import pkgutil
from functools import cache

from roadie.drills.contract import Drill
from roadie.errors import RoadieError

# In-region faults, the restore drill, the region failover and failback: `drill all` runs them
# in this order, so the region failover (which leaves the lab in region 2) runs last.
PACKAGES = ("roadie.drills", "roadie.backup", "roadie.dr")


def find(packages: tuple[str, ...] = PACKAGES) -> dict[str, type[Drill]]:
    """name -> drill class; two drills with one name are refused, naming both."""
    found: dict[str, type[Drill]] = {}
    for package in packages:
        for cls in _drills_in(package):
            if cls.name in found:
                raise RoadieError(f"two drills are named {cls.name}: {_where(found[cls.name])} and {_where(cls)}")
            found[cls.name] = cls
    return found


@cache
def drills() -> dict[str, type[Drill]]:
    return find()


def get(name: str) -> Drill:
    known = drills()
    if name not in known:
        raise RoadieError(f"unknown drill '{name}' (drills: {', '.join(known)})")
    return known[name]()


def _drills_in(package: str) -> list[type[Drill]]:
    root = importlib.import_module(package)
    classes = []
    for module_info in pkgutil.iter_modules(root.__path__):
        module = importlib.import_module(f"{package}.{module_info.name}")
        classes += [
            value
            for value in vars(module).values()
            if inspect.isclass(value)
            and issubclass(value, Drill)
            and value.__module__ == module.__name__
            and not inspect.isabstract(value)
        ]
    return classes


def _where(cls: type[Drill]) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"
