"""The pgbench script is the booking transaction's own SQL: every statement it sends is the
app's, verbatim but for its placeholders, and a parameter the app adds breaks it loudly."""

import ast
import inspect

import pytest

from app.tickets import booking
from roadie.bench import booking_sql
from roadie.bench.booking_sql import ADVISORY_LOCK, BY_KEY, LOCK_SEATS, SELL_PARAMETERS, script, to_pgbench
from roadie.errors import RoadieError


def app_string_constants() -> set[str]:
    tree = ast.parse(inspect.getsource(booking))
    return {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)}


def test_the_inline_statements_are_the_apps_verbatim():
    constants = app_string_constants()
    for statement in (ADVISORY_LOCK, BY_KEY, LOCK_SEATS):
        assert statement in constants, f"booking.py no longer sends: {statement}"


def test_the_script_sends_the_transaction_in_order_with_every_placeholder_set():
    text = script()
    sql = [line for line in text.splitlines() if line and not line.startswith("\\")]
    assert sql[0] == "BEGIN;" and sql[-1] == "COMMIT;"
    assert sql[1].startswith("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")
    assert "FOR UPDATE" in sql[3] and "ANY(ARRAY[:seat::bigint])" in sql[3]
    assert sql[4].startswith("WITH booking AS ( INSERT INTO bookings") and "INSERT INTO outbox" in sql[4]
    assert len(sql) == 6
    assert "%s" not in text and "%(" not in text


def test_each_transaction_takes_a_seat_of_its_own():
    lines = script().splitlines()
    assert "\\set n :client_id + :clients * :k" in lines
    assert "\\set k :k + 1" in lines
    defines = booking_sql.SeatRange(first=1 << 48, count=100).defines(clients=4, shard="msk", number=1)
    assert defines["k"] == "0" and defines["clients"] == "4" and defines["first_seat"] == str(1 << 48)


def test_a_parameter_the_script_does_not_set_fails_loudly():
    with pytest.raises(RoadieError, match="does not set: new_one"):
        to_pgbench("SELECT %(key)s, %(new_one)s", named={"key": ":key"})
    with pytest.raises(RoadieError, match="unused"):
        to_pgbench("SELECT %(key)s", named={"key": ":key", "gone": ":gone"})
    with pytest.raises(RoadieError, match="more %s placeholders"):
        to_pgbench("SELECT %s, %s", [":key"])
    assert set(SELL_PARAMETERS) >= {"key", "seat_ids", "hash"}
