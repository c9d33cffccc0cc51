"""Per-supplier settings of the calls a search node makes (``SupplierContract``).

Suppliers differ by orders of magnitude: a big wholesaler answers in tens of milliseconds and
takes a hundred calls a second, a hotel's own server takes ten calls a minute. One setting for
all wastes one or the other:

- ``max_wait``, the merge window: how long the owning node collects a supplier's hotels of one
  stay before it calls. A fast, generous supplier gets ~200 ms (users wait for it); a slow or
  tightly limited one up to ~1 s (each call saved is a slot of a small contract, and its answer
  takes long anyway). At most ``MAX_MERGE_WINDOW``.
- ``max_batch``: most hotels per call (the supplier's own cap; the simulator answers 400 above it).
- ``timeout``: how long a call may take before it counts as a timeout (for the breaker).
- ``limit_wait``: how long a call may wait for a rate-limit slot before it is skipped.
- ``look_to_book``: the contract's cap on looks per booking (``look_to_book.LookToBookCap``),
  throttled from 80 % of it, enforced at it (only cached offers are served then).

``budget`` is the longest an owning node takes to answer a miss: a forward to the owner must wait
longer than that (``wiring`` checks ``forward_timeout`` against every supplier's budget).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.search.batching import Window
from app.search.look_to_book import LookToBookCap

MAX_MERGE_WINDOW = 2.0  # seconds; a longer window makes every search of the supplier wait
MAX_BATCH = 1000  # hotels per call (and per forward: the internal API's cap)
MAX_TIMEOUT = 30.0  # seconds


@dataclass(frozen=True, slots=True)
class SupplierContract:
    """How one supplier is called; the defaults are the search's global ``batching`` settings."""

    max_wait: float = 0.02
    max_batch: int = 50
    limit_wait: float = 0.5
    timeout: float = 2.0
    look_to_book: LookToBookCap | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.max_wait <= MAX_MERGE_WINDOW:
            raise ValueError(f"max_wait (merge window) must be 0..{MAX_MERGE_WINDOW:g}s (got {self.max_wait:g}s)")
        if not 1 <= self.max_batch <= MAX_BATCH:
            raise ValueError(f"max_batch must be 1..{MAX_BATCH} hotels (got {self.max_batch})")
        if not 0 < self.timeout <= MAX_TIMEOUT:
            raise ValueError(f"timeout must be above 0 and at most {MAX_TIMEOUT:g}s (got {self.timeout:g}s)")
        if self.limit_wait < 0:
            raise ValueError(f"limit_wait must be >= 0 (got {self.limit_wait:g}s)")

    @property
    def window(self) -> Window:
        return Window(self.max_wait, self.max_batch)

    @property
    def budget(self) -> float:
        """The longest the owning node takes to answer a miss: merge, wait for a slot, call."""
        return self.max_wait + self.limit_wait + self.timeout
