"""TTL by search depth: same-day minutes, months ahead hours; a validated, configurable table."""

from datetime import date

import pytest

from app.search.durations import parse_duration
from app.search.ttl import TtlTable


def test_default_table():
    table = TtlTable.default()
    assert table.for_depth(0) == 5 * 60
    assert table.for_depth(1) == 15 * 60
    assert table.for_depth(3) == 30 * 60
    assert table.for_depth(7) == 3600
    assert table.for_depth(30) == 3 * 3600
    assert table.for_depth(90) == 6 * 3600
    assert table.for_depth(180) == 12 * 3600
    assert table.for_depth(-2) == 5 * 60  # a stay that already started counts as same day


def test_ttl_never_shrinks_with_depth():
    table = TtlTable.default()
    ttls = [table.for_depth(d) for d in range(400)]
    assert ttls == sorted(ttls)


def test_for_stay_and_bands():
    table = TtlTable.default()
    assert table.for_stay(date(2030, 1, 5), today=date(2030, 1, 1)) == 3600
    assert table.band(0) == 0
    assert table.band(500) == len(table.rows) - 1


def test_describe_documents_the_table():
    assert TtlTable.default().describe() == [
        "0 days: 5m",
        "1 days: 15m",
        "2-3 days: 30m",
        "4-7 days: 1h",
        "8-30 days: 3h",
        "31-90 days: 6h",
        "91+ days: 12h",
    ]


def test_custom_table_from_config():
    table = TtlTable.from_config([{"max_days": 0, "ttl": "2m"}, {"max_days": 10, "ttl": 600}, {"ttl": "1d"}])
    assert [table.for_depth(d) for d in (0, 1, 10, 11)] == [120, 600, 600, 86400]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "at least one row"),
        ([{"max_days": 3, "ttl": "1h"}], "last row must have no max_days"),
        ([{"max_days": 3, "ttl": "1h"}, {"max_days": 3, "ttl": "2h"}, {"ttl": "3h"}], "strictly increasing"),
        ([{"max_days": 1, "ttl": "0s"}, {"ttl": "1h"}], "must be positive"),
        ([{"max_days": 1, "ttl": "soon"}, {"ttl": "1h"}], "not a duration: 'soon'"),
        ([{"days": 1, "ttl": "1h"}, {"ttl": "1h"}], "expected keys"),
    ],
)
def test_bad_tables_are_refused_with_a_reason(rows, message):
    with pytest.raises(ValueError, match=message):
        TtlTable.from_config(rows)


def test_durations():
    assert parse_duration("90s") == 90
    assert parse_duration("5m") == 300
    assert parse_duration("2h") == 7200
    assert parse_duration("250ms") == 0.25
    assert parse_duration(12) == 12
