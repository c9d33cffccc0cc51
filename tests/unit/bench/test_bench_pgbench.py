"""pgbench's figures are read from its output; an aborted or failing run is an error, not a figure."""

import pytest

from roadie.bench.pgbench import PgTarget, parse_run
from roadie.errors import RoadieError

# pgbench 15 on this machine (-T 1, 2 clients), as printed.
GOOD = """pgbench (15.18 (Debian 15.18-0+deb12u1))
transaction type: <builtin: TPC-B (sort of)>
scaling factor: 1
query mode: prepared
number of clients: 2
number of threads: 2
maximum number of tries: 1
duration: 1 s
number of transactions actually processed: 188
number of failed transactions: 0 (0.000%)
latency average = 10.409 ms
initial connection time = 25.022 ms
tps = 192.144951 (without initial connection time)
"""
ABORTED = """number of transactions actually processed: 0
number of failed transactions: 0 (NaN%)
pgbench: error: client 0 script 0 aborted in command 9 query 0: ERROR:  duplicate key value violates unique constraint
pgbench: error: Run was aborted; the above results are incomplete.
"""


def test_transactions_are_those_processed_not_tps_times_wall_time():
    run = parse_run(GOOD)
    assert run.transactions == 188 and run.failed == 0
    assert run.tps == pytest.approx(192.144951)


def test_aborted_or_failing_runs_are_errors():
    with pytest.raises(RoadieError, match="aborted"):
        parse_run(ABORTED)
    with pytest.raises(RoadieError, match="3 transactions failed"):
        parse_run(GOOD.replace("failed transactions: 0 (0.000%)", "failed transactions: 3 (1.6%)"))
    with pytest.raises(RoadieError, match="could not read"):
        parse_run("nothing useful")


def test_session_settings_reach_pgbench_and_psycopg_alike():
    target = PgTarget("h", 1, "u", "p", "bench", {"search_path": "booking_sql", "statement_timeout": "5000"})
    assert target.env()["PGOPTIONS"] == "-c search_path=booking_sql -c statement_timeout=5000"


def test_set_up_runs_without_the_apps_statement_timeout_and_the_run_keeps_it():
    target = PgTarget("h", 1, "u", "p", "bench", {"search_path": "booking_sql", "statement_timeout": "5000"})
    assert target.for_setup().env()["PGOPTIONS"] == "-c search_path=booking_sql -c statement_timeout=0"
    assert target.env()["PGOPTIONS"].endswith("statement_timeout=5000")
