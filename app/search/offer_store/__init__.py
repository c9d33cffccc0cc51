"""The offer cache: one interface (``base.OfferStore``), one module per backend (``<name>_store.py``).

Backends are discovered from this package, not listed by hand: adding ``memcached_store.py``
with an ``OfferStore`` subclass named ``memcached`` makes ``backend: memcached`` work.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Mapping
from typing import Any

from app.search.offer_store.base import BackendUnavailable, OfferRecord, OfferStore, OfferStoreError

__all__ = [
    "BackendUnavailable",
    "OfferRecord",
    "OfferStore",
    "OfferStoreError",
    "UnknownBackend",
    "backends",
    "create_offer_store",
]

BACKEND_SUFFIX = "_store"


class UnknownBackend(ValueError):
    """The configured backend name is not one of this package's backends."""


def backends() -> dict[str, type[OfferStore]]:
    """Every backend in this package, by name. Importing one never needs its client library."""
    found: dict[str, type[OfferStore]] = {}
    for module_info in pkgutil.iter_modules(__path__):
        if not module_info.name.endswith(BACKEND_SUFFIX):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, OfferStore) and not inspect.isabstract(cls) and cls.__module__ == module.__name__:
                found[cls.name] = cls
    return found


def create_offer_store(name: str, options: Mapping[str, Any]) -> OfferStore:
    """Build the backend called ``name`` from its configuration ``options``."""
    available = backends()
    if name not in available:
        raise UnknownBackend(f"unknown offer store backend {name!r}; available: {', '.join(sorted(available))}")
    return available[name].from_config(options)
