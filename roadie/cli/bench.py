"""`roadie bench ...`: bounded benchmarks of the lab that print measured numbers."""

from typing import Annotated

import typer
from rich.table import Table

from roadie.bench.tickets import BenchConfig, Latencies, TicketsBench, TicketsBenchmark
from roadie.console import console
from roadie.lab.inventory import load_lab

app = typer.Typer(help="Benchmarks of the lab (bounded, loopback only).", no_args_is_help=True)


@app.callback()
def bench() -> None:
    """Benchmarks of the lab: bounded in time and requests, loopback addresses only."""


@app.command()
def tickets(
    clients: Annotated[int, typer.Option(min=1, max=128, help="Booking clients (and pgbench clients).")] = 32,
    seconds: Annotated[int, typer.Option(min=2, max=60, help="Length of each measured phase.")] = 10,
    connections: Annotated[int, typer.Option(min=1, max=256, help="Connections for the listing phases.")] = 32,
) -> None:
    """Bookings vs pgbench, cached listing vs a bare ASGI endpoint, and p99 at 70 % load."""
    config = BenchConfig(clients=clients, seconds=seconds, listing_connections=connections)
    with console.status("benchmarking the ticketing app (about a minute)..."):
        result = TicketsBenchmark(load_lab(), config).run()
    console.print(render(result))
    console.print(render_cpu(result))


def render(r: TicketsBench) -> Table:
    table = Table(title="roadie bench tickets", title_justify="left")
    for column in ("measure", "app", "baseline", "ratio", "goal"):
        table.add_column(column)
    booking_ratio = r.bookings.throughput / r.pgbench_tps if r.pgbench_tps else 0.0
    listing_ratio = r.listing.throughput / r.bare.throughput if r.bare.throughput else 0.0
    table.add_row(
        f"bookings/s, {r.clients} clients (vs pgbench tpcb-like tps)",
        f"{r.bookings.throughput:,.0f}",
        f"{r.pgbench_tps:,.0f}",
        f"{booking_ratio:.2f}x",
        _goal(booking_ratio >= 0.5, ">= 0.5x"),
    )
    table.add_row(
        "booking latency p50 / p95 / p99 ms", _percentiles(r.bookings), "", "", f"{r.bookings_conflicted} conflicts"
    )
    table.add_row(
        "cached listing req/s (vs bare ASGI, same node)",
        f"{r.listing.throughput:,.0f}",
        f"{r.bare.throughput:,.0f}",
        f"{listing_ratio:.2f}x",
        _goal(listing_ratio >= 0.5, ">= 0.5x"),
    )
    table.add_row("listing latency p50 / p95 / p99 ms", _percentiles(r.listing), _percentiles(r.bare), "", "")
    table.add_row(
        f"listing p99 at 70 % load ({r.load_rate:,.0f} req/s asked)",
        f"{r.listing_at_load.p99_ms:.1f} ms",
        f"{r.listing_at_load.throughput:,.0f} req/s done",
        "",
        _goal(r.listing_at_load.p99_ms < 50, "< 50 ms"),
    )
    errors = r.bookings.errors + r.listing.errors + r.listing_at_load.errors
    table.caption = f"5xx/transport errors: {errors}"
    return table


def render_cpu(r: TicketsBench) -> Table:
    """Where the bookings' CPU went, tier by tier, next to pgbench's: the lab's tiers share the
    machine's cores, so this says what each tier would sustain on cores of its own."""
    table = Table(title="CPU per operation (ms), measured from each lab host's cgroup", title_justify="left")
    for column in ("tier", "per booking", "per pgbench transaction"):
        table.add_column(column)
    transactions = round(r.pgbench_tps * r.pgbench_cpu.seconds)
    bookings = r.bookings_cpu.per_operation_ms(r.bookings_done)
    pgbench = r.pgbench_cpu.per_operation_ms(transactions)
    for tier in sorted(bookings, key=lambda t: -bookings[t]):
        table.add_row(tier, f"{bookings[tier]:.2f}", f"{pgbench.get(tier, 0.0):.2f}")
    table.add_row(
        "outside the lab hosts (load generator, pgbench)",
        f"{1000 * r.bookings_cpu.outside_lab / max(1, r.bookings_done):.2f}",
        f"{1000 * r.pgbench_cpu.outside_lab / max(1, transactions):.2f}",
    )
    table.add_row(
        "whole machine",
        f"{1000 * r.bookings_cpu.machine_busy / max(1, r.bookings_done):.2f}",
        f"{1000 * r.pgbench_cpu.machine_busy / max(1, transactions):.2f}",
    )
    booking_db, pgbench_db = r.database_ms
    if booking_db:
        table.caption = (
            f"On the database tier's CPU alone a booking costs {booking_db / pgbench_db:.1f}x a pgbench transaction: "
            f"with the app tier and the broker on cores of their own, bookings/pgbench would be about "
            f"{pgbench_db / booking_db:.2f}x (a projection from measured CPU, not a measured throughput)."
        )
    return table


def _percentiles(lat: Latencies) -> str:
    return f"{lat.p50_ms:.1f} / {lat.p95_ms:.1f} / {lat.p99_ms:.1f}"


def _goal(met: bool, goal: str) -> str:
    return f"[ok]{goal} met[/]" if met else f"[bad]{goal} missed[/]"
