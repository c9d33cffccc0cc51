"""Monthly partitions: the current and future months are created ahead, old months archived."""

from datetime import date

from app.tickets.partitions import Month, live_range, plan


def test_month_arithmetic_crosses_years():
    assert Month(2026, 11).plus(2) == Month(2027, 1)
    assert Month(2026, 1).plus(-1) == Month(2025, 12)
    assert Month(2026, 3).plus(-15) == Month(2024, 12)


def test_table_names_round_trip():
    assert Month(2027, 2).table == "events_p202702"
    assert Month.from_table("events_p202702") == Month(2027, 2)
    assert Month.from_table("events_archive") is None
    assert Month.from_table("events_p20272") is None


def test_first_roll_creates_kept_current_and_future_months():
    todo = plan(set(), date(2026, 11, 22), ahead=2, keep=1)
    assert [m.table for m in todo.create] == ["events_p202610", "events_p202611", "events_p202612", "events_p202701"]
    assert todo.archive == ()


def test_rolling_a_month_later_adds_one_month_and_archives_one():
    existing = {Month(2026, 10), Month(2026, 11), Month(2026, 12), Month(2027, 1)}
    todo = plan(existing, date(2026, 12, 1), ahead=2, keep=1)
    assert todo.create == (Month(2027, 2),)
    assert todo.archive == (Month(2026, 10),)


def test_rolling_again_the_same_day_does_nothing():
    existing = set(plan(set(), date(2026, 11, 22), ahead=12, keep=3).create)
    again = plan(existing, date(2026, 11, 30), ahead=12, keep=3)
    assert again.create == () and again.archive == ()


def test_live_range_matches_the_partitions():
    assert live_range(date(2026, 11, 22), ahead=2, keep=1) == (date(2026, 10, 1), date(2027, 2, 1))
