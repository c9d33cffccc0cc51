"""The offer store interface: where suppliers' answers are cached between searches.

Backends live in this package as ``<name>_store.py`` and are found by ``offer_store.backends``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, NamedTuple, Self

from app.search.cache_key import OfferKey
from app.search.models import HotelAnswer


class OfferStoreError(RuntimeError):
    """The backend failed (unreachable, timed out, refused): the caller treats it as a cache miss."""


class BackendUnavailable(OfferStoreError):
    """The backend cannot be used in this installation (e.g. its client library is missing)."""


class OfferRecord(NamedTuple):
    """One answer to cache: where, what, and for how long (seconds, > 0)."""

    key: OfferKey
    answer: HotelAnswer
    ttl: int


class OfferStore(ABC):
    """A key-value cache of ``HotelAnswer`` records with a TTL per record.

    Contract, for every backend:

    - ``get_many(keys)`` is one batch read (one request per backend node at most, never one per
      key) and returns a list aligned with ``keys``: the stored answer, or None when the key is
      missing, expired or unreadable. Missing keys never raise.
    - ``put_many(records)`` writes every record with its own TTL in one batch; a record overwrites
      any older one under the same key and disappears ``ttl`` seconds after its write. Writes are
      atomic per record, not across records: after a failure some records may be written.
    - ``evict(keys)`` deletes the records in one batch (a booking was refused: the answer was
      wrong); keys that are not there are no error.
    - All three raise ``OfferStoreError`` (never a backend's own exception type) when the backend fails;
      callers treat that as a miss and keep serving.
    - ``close()`` releases connections; the store is not used afterwards.
    """

    name: ClassVar[str]

    @classmethod
    @abstractmethod
    def from_config(cls, options: Mapping[str, Any]) -> Self:
        """Build the store from its configuration section (backend-specific keys)."""

    @abstractmethod
    async def get_many(self, keys: Sequence[OfferKey]) -> list[HotelAnswer | None]: ...

    @abstractmethod
    async def put_many(self, records: Sequence[OfferRecord]) -> None: ...

    @abstractmethod
    async def evict(self, keys: Sequence[OfferKey]) -> None: ...

    async def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release connections."""

    def describe(self) -> Mapping[str, Any]:
        """Facts for ``roadie lab status``: at least the backend's name."""
        return {"backend": self.name}
