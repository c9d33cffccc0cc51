"""What `roadie bench tickets` prints: goals beside figures, "missed" and "not measured" where a
run gives them (synthetic results: the figures' arithmetic, not the lab)."""

from dataclasses import replace

from rich.console import Console
from typer.testing import CliRunner

from roadie.bench.cpu import CpuUse
from roadie.bench.load import OK, LoadResult
from roadie.bench.outcomes import CONFLICT
from roadie.bench.pgbench import PgbenchRun
from roadie.bench.tickets import BenchConfig, Phase, Serving, SqlPhase, TicketsBench
from roadie.cli.bench import render
from roadie.cli.main import app

DB, APP = "database (Patroni members)", "app nodes (web + worker)"


def loaded(ok: int, seconds: float, latency: float, **others: int) -> LoadResult:
    result = LoadResult(duration=seconds)
    for _ in range(ok):
        result.add(OK, latency)
    for outcome, n in others.items():
        result.outcomes[outcome] = n
    return result


def cpu(db: float, app: float, machine: float) -> CpuUse:
    return CpuUse(seconds=11.0, tiers={DB: db, APP: app}, machine_busy=machine)


def bench(bookings: LoadResult, at_load: LoadResult | None) -> TicketsBench:
    return TicketsBench(
        config=BenchConfig(),
        idle=CpuUse(3.0, {DB: 0.1}, 0.3),
        bookings=Phase(bookings, cpu(db=4.0, app=8.0, machine=18.0), drained_in=0.8),
        app_connections=30,
        booking_rate_asked=0.7 * bookings.rate() if bookings.rate() else None,
        bookings_at_load=at_load,
        booking_sql=SqlPhase(PgbenchRun(20000, 0, 2000.0), cpu(db=10.0, app=0.0, machine=14.0), 0.5),
        tpcb=SqlPhase(PgbenchRun(30000, 0, 3000.0), cpu(db=12.0, app=0.0, machine=16.0), 0.5),
        tpcb_scale=32,
        synchronous_commit="on",
        listing=Serving(loaded(300000, 10.0, 0.001), 21000.0, loaded(210000, 10.0, 0.004)),
        bare=Serving(loaded(400000, 10.0, 0.0008), 28000.0, loaded(280000, 10.0, 0.002)),
        wrk=None,
    )


def text(result: TicketsBench) -> str:
    console = Console(width=400, record=True)
    console.print(render(result))
    return console.export_text()


def test_a_run_that_meets_the_goals_says_so():
    good = bench(loaded(12000, 10.0, 0.05), loaded(8400, 10.0, 0.08))
    out = text(good)
    assert ">= 0.5x: met" in out and "0.60x" in out  # 1,200/s confirmed vs 2,000 tps
    assert "< 200 ms: met" in out and "< 500 ms: met" in out
    assert ">= 0.5x: met" in out.split("cached listing")[1] and "< 50 ms: met" in out
    assert "1.500" in out  # whole machine: 18 s of CPU / 12,000 bookings = 1.5 ms
    assert "2.1x" in out  # ... vs 14 s / 20,000 booking-SQL transactions = 0.7 ms
    assert "wrk: not measured" in out


def test_all_409s_is_zero_confirmed_missed_and_not_measured():
    refused = bench(loaded(0, 10.0, 0.0, **{CONFLICT: 15000}), None)
    out = text(refused)
    assert "15,000 409 seat taken" in out
    assert ">= 0.5x: missed" in out.split("cached listing")[0]  # 0 confirmed/s vs 2,000 tps
    assert "< 200 ms: not measured" in out and "< 500 ms: not measured" in out
    cpu_table = out.split("CPU per operation")[1].split("cached listing")[0]
    whole = next(line for line in cpu_table.splitlines() if "whole machine  " in line or "whole machine │" in line)
    assert whole.count("not measured") == 1  # per booking; the pgbench columns are measured


def test_a_slow_listing_misses_its_goals():
    slow = replace(
        bench(loaded(12000, 10.0, 0.05), loaded(8400, 10.0, 0.3)),
        listing=Serving(loaded(100000, 10.0, 0.01), 70000.0, loaded(70000, 10.0, 0.09)),
    )
    out = text(slow)
    listing = out.split("cached listing")[1]
    assert ">= 0.5x: missed" in listing and "< 50 ms: missed" in listing
    assert "< 200 ms: missed" in out  # p95 300 ms at 70 %


def test_the_command_documents_itself():
    result = CliRunner().invoke(app, ["bench", "tickets", "--help"])
    assert result.exit_code == 0
    assert "--warmup" in result.output and "booking SQL" in result.output
