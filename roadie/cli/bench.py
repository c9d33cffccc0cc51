"""`roadie bench ...`: bounded benchmarks of the lab that print measured numbers."""

from typing import Annotated

import typer
from rich.console import Group
from rich.table import Table

from roadie.bench import goals
from roadie.bench.cpu import CpuUse
from roadie.bench.goals import Figure, Verdict, fmt, ratio
from roadie.bench.load import LoadResult
from roadie.bench.tickets import BenchConfig, TicketsBench, TicketsBenchmark
from roadie.console import console
from roadie.lab.inventory import load_lab

app = typer.Typer(help="Benchmarks of the lab (bounded, loopback only).", no_args_is_help=True)

DATABASE = "database (Patroni members)"


@app.callback()
def bench() -> None:
    """Benchmarks of the lab: bounded in time and requests, loopback addresses only."""


@app.command()
def tickets(
    clients: Annotated[
        int, typer.Option(min=1, max=128, help="Booking clients; pgbench's clients and connections, tpcb-like scale.")
    ] = 32,
    seconds: Annotated[int, typer.Option(min=2, max=60, help="Length of each measured phase.")] = 10,
    warmup: Annotated[int, typer.Option(min=1, max=30, help="Length of each warm-up.")] = 3,
    connections: Annotated[int, typer.Option(min=1, max=256, help="Connections for the listing phases.")] = 32,
) -> None:
    """Confirmed bookings vs pgbench running the booking SQL (and tpcb-like), p95/p99 at 70 % load,
    CPU per booking by tier, cached listing vs a bare ASGI endpoint; goals printed beside."""
    config = BenchConfig(clients=clients, seconds=seconds, warmup=warmup, listing_connections=connections)
    minutes = round(config.expected_seconds() / 60)
    with console.status(f"benchmarking the ticketing app (about {minutes} minutes, one more the first time)..."):
        result = TicketsBenchmark(load_lab(), config).run()
    console.print(render(result))


def render(r: TicketsBench) -> Group:
    return Group(render_bookings(r), render_cpu(r), render_listing(r))


def _verdict(verdict: Verdict, goal: str) -> str:
    style = {Verdict.MET: "ok", Verdict.MISSED: "bad", Verdict.NOT_MEASURED: "warn"}[verdict]
    return f"[{style}]{goal}: {verdict}[/]"


def _ms(load: LoadResult | None, p: float) -> Figure:
    return load.percentile_ms(p) if load is not None else None


def _percentiles(load: LoadResult | None) -> str:
    values = [_ms(load, p) for p in (50, 95, 99)]
    if None in values:
        return fmt(None)
    return " / ".join(fmt(v, ".1f") for v in values) + " ms"


def _answers(load: LoadResult | None) -> str:
    if load is None:
        return "not measured"
    return ", ".join(f"{n:,} {outcome}" for outcome, n in sorted(load.outcomes.items(), key=lambda o: -o[1]))


def _open_answers(load: LoadResult | None) -> str:
    return _answers(load) + (f"; {load.late:,} sent late" if load is not None else "")


def render_bookings(r: TicketsBench) -> Table:
    c = r.config
    table = Table(title="roadie bench tickets: bookings", title_justify="left")
    for column in ("measure", "app", "baseline", "ratio", "goal"):
        table.add_column(column)
    confirmed = r.bookings.load.rate()
    vs_sql = ratio(confirmed, r.booking_sql.run.tps)
    table.add_row(
        f"confirmed bookings/s, {c.clients} clients through the LB (vs pgbench: the booking SQL, "
        f"{c.clients} clients and connections, same primary)",
        fmt(confirmed),
        f"{r.booking_sql.run.tps:,.0f} tps",
        fmt(vs_sql, ".2f", "x"),
        _verdict(goals.at_least(vs_sql, goals.BOOKINGS_VS_SQL), f">= {goals.BOOKINGS_VS_SQL}x"),
    )
    table.add_row(
        f"(reference) pgbench tpcb-like, scale {r.tpcb_scale}, {c.clients} clients",
        "",
        f"{r.tpcb.run.tps:,.0f} tps",
        fmt(ratio(confirmed, r.tpcb.run.tps), ".2f", "x"),
        "",
    )
    table.add_row("answers (closed loop)", _answers(r.bookings.load), "", "", "")
    table.add_row("confirmed booking latency p50 / p95 / p99 (closed loop)", _percentiles(r.bookings.load), "", "", "")
    at = r.bookings_at_load
    asked = fmt(r.booking_rate_asked, ",.0f", "/s")
    table.add_row(
        f"open loop at 70 % ({asked} asked, {fmt(at.rate() if at else None, ',.0f', '/s')} confirmed): p95",
        fmt(_ms(at, 95), ".1f", " ms"),
        "",
        "",
        _verdict(goals.below(_ms(at, 95), goals.BOOKING_P95_MS), f"< {goals.BOOKING_P95_MS:.0f} ms"),
    )
    table.add_row(
        "open loop at 70 %: p99",
        fmt(_ms(at, 99), ".1f", " ms"),
        "",
        "",
        _verdict(goals.below(_ms(at, 99), goals.BOOKING_P99_MS), f"< {goals.BOOKING_P99_MS:.0f} ms"),
    )
    table.add_row("answers (open loop)", _open_answers(at), "", "", "")
    table.caption = (
        f"DB connections to the primary: the app's pools {r.app_connections} (pg_stat_activity), pgbench "
        f"{c.clients}; synchronous_commit = {r.synchronous_commit} for both. Goals: issue 15 (printed, not tests)."
    )
    return table


def _per_op(cpu: CpuUse, operations: int, tier: str) -> Figure:
    per = cpu.per_operation_ms(operations)
    return per.get(tier, 0.0) if per is not None else None


def render_cpu(r: TicketsBench) -> Table:
    """CPU per operation by tier, each phase over its own window only (from the measured load's
    start until its background work drained), divided by the operations counted in it."""
    confirmed = r.bookings.load.ok
    sql, tpcb = r.booking_sql, r.tpcb
    table = Table(title="CPU per operation (ms), from each lab host's cgroup", title_justify="left")
    for column in ("tier", "per confirmed booking", "per booking-SQL transaction", "per tpcb-like transaction"):
        table.add_column(column)
    tiers = sorted(set(r.bookings.cpu.tiers) | set(sql.cpu.tiers), key=lambda t: -r.bookings.cpu.tiers.get(t, 0.0))
    for tier in tiers:
        table.add_row(
            tier,
            fmt(_per_op(r.bookings.cpu, confirmed, tier), ".3f"),
            fmt(_per_op(sql.cpu, sql.run.transactions, tier), ".3f"),
            fmt(_per_op(tpcb.cpu, tpcb.run.transactions, tier), ".3f"),
        )
    table.add_row(
        "outside the lab hosts (load generator, pgbench, the rest of the machine)",
        fmt(r.bookings.cpu.outside_ms(confirmed), ".3f"),
        fmt(sql.cpu.outside_ms(sql.run.transactions), ".3f"),
        fmt(tpcb.cpu.outside_ms(tpcb.run.transactions), ".3f"),
    )
    booking_machine = r.bookings.cpu.machine_ms(confirmed)
    sql_machine = sql.cpu.machine_ms(sql.run.transactions)
    table.add_row(
        "[b]whole machine[/]",
        fmt(booking_machine, ".3f"),
        fmt(sql_machine, ".3f"),
        fmt(tpcb.cpu.machine_ms(tpcb.run.transactions), ".3f"),
    )
    table.add_row(
        "whole machine per booking / per booking-SQL transaction", fmt(ratio(booking_machine, sql_machine), ".1f", "x")
    )
    table.add_row(
        "database tier per booking / per booking-SQL transaction",
        fmt(
            ratio(_per_op(r.bookings.cpu, confirmed, DATABASE), _per_op(sql.cpu, sql.run.transactions, DATABASE)),
            ".1f",
            "x",
        ),
    )
    table.caption = (
        f"Windows: bookings {r.bookings.cpu.seconds:.1f}s (drained in {r.bookings.drained_in:.1f}s), booking SQL "
        f"{sql.cpu.seconds:.1f}s, tpcb-like {tpcb.cpu.seconds:.1f}s; operations: {confirmed:,} confirmed bookings, "
        f"{sql.run.transactions:,} and {tpcb.run.transactions:,} pgbench transactions. The idle machine kept "
        f"{r.idle.busy_cores():.2f} cores busy (in every window)."
    )
    return table


def render_listing(r: TicketsBench) -> Table:
    table = Table(title="cached listing (the bench's own events, body checked) vs bare ASGI", title_justify="left")
    for column in ("measure", "listing", "bare ASGI", "ratio", "goal"):
        table.add_column(column)
    listing, bare = r.listing.closed.rate(), r.bare.closed.rate()
    vs_bare = ratio(listing, bare)
    table.add_row(
        f"req/s, closed loop, {r.config.listing_connections} connections, one app node",
        fmt(listing),
        fmt(bare),
        fmt(vs_bare, ".2f", "x"),
        _verdict(goals.at_least(vs_bare, goals.LISTING_VS_BARE), f">= {goals.LISTING_VS_BARE}x"),
    )
    table.add_row(
        "latency p50 / p95 / p99 (closed loop)", _percentiles(r.listing.closed), _percentiles(r.bare.closed), "", ""
    )
    listing_p99, bare_p99 = _ms(r.listing.at_load, 99), _ms(r.bare.at_load, 99)
    asked = f"{fmt(r.listing.rate_asked, ',.0f', '/s')} / {fmt(r.bare.rate_asked, ',.0f', '/s')}"
    table.add_row(
        f"p99 at 70 % (asked {asked})",
        fmt(listing_p99, ".1f", " ms"),
        fmt(bare_p99, ".1f", " ms"),
        "",
        _verdict(goals.below(listing_p99, goals.LISTING_P99_MS), f"< {goals.LISTING_P99_MS:.0f} ms"),
    )
    table.add_row("answers (closed loop)", _answers(r.listing.closed), _answers(r.bare.closed), "", "")
    table.add_row("answers at 70 %", _open_answers(r.listing.at_load), _open_answers(r.bare.at_load), "", "")
    if r.wrk is None:
        table.add_row("wrk cross-check (same URL, connections, seconds)", "wrk: not measured (not installed)")
    else:
        table.add_row(
            "wrk cross-check (same URL, connections, seconds; 1 thread)",
            f"{r.wrk.ok_rate:,.0f} req/s, p99 {r.wrk.p99_ms:.1f} ms, {r.wrk.not_ok:,} not 2xx/errors",
            "",
            f"roadie/wrk {fmt(ratio(listing, r.wrk.ok_rate), '.2f', 'x')}",
            "",
        )
    return table
