"""Offer TTL by search depth: how long a supplier's answer may be served from the cache.

Search depth = whole days from today until check-in. Prices and availability close to the stay
change by the minute; months ahead they hardly move in a week. The default table:

=====================  ===========  ==========================================
days until check-in    offer TTL    why
=====================  ===========  ==========================================
0 (same day)           5 minutes    last rooms sell out, prices move hourly
1                      15 minutes   tomorrow's arrivals still move fast
2 - 3                  30 minutes
4 - 7                  1 hour       within a week
8 - 30                 3 hours      within a month
31 - 90                6 hours
more than 90           12 hours     "months ahead": stable for hours
=====================  ===========  ==========================================

The table is configuration (``TtlTable.from_config``): a list of rows ``{max_days, ttl}`` with
strictly increasing ``max_days`` and a last row without ``max_days`` that catches the rest::

    offer_ttl:
      - {max_days: 0, ttl: 5m}
      - {max_days: 7, ttl: 1h}
      - {ttl: 12h}

The same table sets how long "unavailable" answers stay in the Bloom negative cache.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from typing import Any

from app.search.durations import format_duration, parse_duration


@dataclass(frozen=True, slots=True)
class TtlRow:
    max_days: int | None  # None: every deeper search
    ttl_seconds: int

    def describe(self, min_days: int) -> str:
        if self.max_days is None:
            days = f"{min_days}+"
        elif self.max_days == min_days:
            days = f"{min_days}"
        else:
            days = f"{min_days}-{self.max_days}"
        return f"{days} days: {format_duration(self.ttl_seconds)}"


@dataclass(frozen=True, slots=True)
class TtlTable:
    """An ordered depth -> TTL table. Build it with ``from_config`` or ``default``."""

    rows: tuple[TtlRow, ...]

    def __post_init__(self) -> None:
        if not self.rows:
            raise ValueError("the TTL table needs at least one row")
        if self.rows[-1].max_days is not None:
            raise ValueError("the TTL table's last row must have no max_days (it covers deeper searches)")
        bounds = [row.max_days for row in self.rows[:-1]]
        if any(bound is None for bound in bounds):
            raise ValueError("only the TTL table's last row may omit max_days")
        checked = [b for b in bounds if b is not None]
        if checked and (checked[0] < 0 or any(b >= c for b, c in pairwise(checked))):
            raise ValueError(f"TTL table max_days must be >= 0 and strictly increasing (got {checked})")
        if any(row.ttl_seconds <= 0 for row in self.rows):
            raise ValueError("every TTL in the table must be positive")

    @classmethod
    def default(cls) -> TtlTable:
        return cls.from_config(DEFAULT_TTL_TABLE)

    @classmethod
    def from_config(cls, rows: Iterable[Mapping[str, Any]]) -> TtlTable:
        parsed = []
        for index, row in enumerate(rows):
            unknown = set(row) - {"max_days", "ttl"}
            if unknown or "ttl" not in row:
                raise ValueError(f"TTL table row {index}: expected keys max_days (optional), ttl; got {row}")
            max_days = row.get("max_days")
            if max_days is not None and (isinstance(max_days, bool) or not isinstance(max_days, int)):
                raise ValueError(f"TTL table row {index}: max_days must be a whole number, got {max_days!r}")
            parsed.append(TtlRow(max_days, round(parse_duration(row["ttl"]))))
        return cls(tuple(parsed))

    def for_depth(self, depth_days: int) -> int:
        """TTL in seconds for a search ``depth_days`` days before check-in (negative counts as 0)."""
        depth = max(0, depth_days)
        for row in self.rows:
            if row.max_days is None or depth <= row.max_days:
                return row.ttl_seconds
        raise AssertionError("unreachable: the last row has no max_days")

    def for_stay(self, checkin: date, today: date) -> int:
        return self.for_depth((checkin - today).days)

    def band(self, depth_days: int) -> int:
        """Index of the row that ``depth_days`` falls in (used to name Bloom filter keys)."""
        depth = max(0, depth_days)
        for index, row in enumerate(self.rows):
            if row.max_days is None or depth <= row.max_days:
                return index
        raise AssertionError("unreachable: the last row has no max_days")

    def describe(self) -> list[str]:
        """One human-readable line per row, e.g. ``'4-7 days: 1h'``, for docs and ``lab status``."""
        lines, low = [], 0
        for row in self.rows:
            lines.append(row.describe(low))
            if row.max_days is not None:
                low = row.max_days + 1
        return lines


DEFAULT_TTL_TABLE: tuple[Mapping[str, Any], ...] = (
    {"max_days": 0, "ttl": "5m"},
    {"max_days": 1, "ttl": "15m"},
    {"max_days": 3, "ttl": "30m"},
    {"max_days": 7, "ttl": "1h"},
    {"max_days": 30, "ttl": "3h"},
    {"max_days": 90, "ttl": "6h"},
    {"ttl": "12h"},
)
