"""The benchmark CPU meter reads the lab hosts' real cgroups: work sent to the primary shows
up in the database tier, and the machine was busy at least that long."""

import time

import psycopg

from roadie.bench.cpu import CpuMeter
from roadie.drills.endpoints import discover


def test_queries_on_the_primary_show_in_the_database_tier(lab, lab_secrets):
    meter = CpuMeter(lab)
    setup_done = time.monotonic()
    start = meter.sample()
    address, primary_port, _ = discover(lab).pg_lb
    with psycopg.connect(
        host=address, port=primary_port, user="app", password=lab_secrets["postgres_app"], dbname="app"
    ) as conn:
        conn.execute("select count(*) from generate_series(1, 3000000)").fetchone()
    use = meter.since(start, setup_done=setup_done)
    assert use.tiers["database (Patroni members)"] > 0.1
    assert use.machine_busy >= use.tiers["database (Patroni members)"]
