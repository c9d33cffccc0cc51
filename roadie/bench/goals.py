"""The goals `roadie bench tickets` prints beside its figures (issue 15), and their verdicts.

A figure is a float or None; None means it could not be measured in this run (no confirmed
booking, a phase that did not run, a tool that is not installed) and prints "not measured",
never 0. A goal whose figure is missing is not met: its verdict says "not measured".
"""

from __future__ import annotations

from enum import StrEnum

Figure = float | None

BOOKINGS_VS_SQL = 0.5  # confirmed bookings/s >= 0.5x pgbench running the booking SQL
LOAD_SHARE = 0.7  # open-loop phases run at 70 % of the measured maximum
BOOKING_P95_MS = 200.0
BOOKING_P99_MS = 500.0
LISTING_VS_BARE = 0.5
LISTING_P99_MS = 50.0


class Verdict(StrEnum):
    MET = "met"
    MISSED = "missed"
    NOT_MEASURED = "not measured"


def ratio(numerator: Figure, denominator: Figure) -> Figure:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def at_least(value: Figure, floor: float) -> Verdict:
    if value is None:
        return Verdict.NOT_MEASURED
    return Verdict.MET if value >= floor else Verdict.MISSED


def below(value: Figure, ceiling: float) -> Verdict:
    if value is None:
        return Verdict.NOT_MEASURED
    return Verdict.MET if value < ceiling else Verdict.MISSED


def share_of(rate: Figure) -> Figure:
    """The open-loop rate for a measured maximum: LOAD_SHARE of it (None without a maximum)."""
    if rate is None or rate <= 0:
        return None
    return LOAD_SHARE * rate


def fmt(value: Figure, spec: str = ",.0f", unit: str = "") -> str:
    return "not measured" if value is None else f"{value:{spec}}{unit}"
