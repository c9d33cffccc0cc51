"""`roadie bench search`: supplier calls as a share of naive, mechanism by mechanism, in steady
state: the workload (``search_workload``, docs/search-workload.md) replayed in virtual time
through the real search (``search_replay``) at two densities. ``--lab`` runs the real-time lab
benchmark instead (``search_lab``: latency, over-limit calls at the simulator, real Redis).

Verdicts: a goal met prints "met", a goal missed "missed", a figure not measured "not measured".
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Annotated

import typer
from rich.table import Table

from roadie.bench import search_lab
from roadie.bench.search_replay import Counts, Level, ReplayConfig, replay
from roadie.bench.search_workload import Kind, Workload, WorkloadConfig
from roadie.console import console
from roadie.lab.inventory import load_lab

# The design documents: ~210,000 search requests per second over 2.5 M hotels. Read
# conservatively: every request of a session counts (results pages, hotel pages, refined
# searches), and 210,000 is the daily peak.
DESIGN_REQUESTS_PER_SECOND = 210_000
DESIGN_HOTELS = 2_500_000
CONSERVATIVE_SESSIONS_PER_SECOND = 0.01  # at the peak, over the replay's 1,000 hotels
DENSER = 10

GOAL_CONSERVATIVE = 0.12  # with today's 50 ms window
GOAL_PER_SUPPLIER_WINDOWS = 0.07
GOAL_DENSER = 0.05
GOAL_WRONGLY_HIDDEN = 1e-4
GOAL_BLOOM_OVER_BOUND = 1.10


@dataclass(frozen=True, slots=True)
class Density:
    name: str
    config: ReplayConfig
    levels: tuple[Level, ...]  # the mechanisms replayed at this density (each replay costs minutes)


@dataclass
class Measured:
    density: Density
    counts: dict[Level, Counts]
    seconds: float
    requests_per_session: float

    def design_share(self) -> float:
        """This density as a share of the design documents' (requests per hotel per second at the peak)."""
        workload = self.density.config.workload
        hotels = Workload(workload).world.hotels
        mine = workload.sessions_per_second * self.requests_per_session / hotels
        return mine / (DESIGN_REQUESTS_PER_SECOND / DESIGN_HOTELS)


def densities(base: ReplayConfig, all_levels_denser: bool = False) -> tuple[Density, Density]:
    every = tuple(Level)
    denser = replace(
        base, workload=replace(base.workload, sessions_per_second=base.workload.sessions_per_second * DENSER)
    )
    return (
        Density("conservative", base, every),
        Density(f"{DENSER}x", denser, every if all_levels_denser else (Level.RENDEZVOUS,)),
    )


def measure(density: Density) -> Measured:
    started = time.monotonic()
    workload = Workload(density.config.workload)
    requests = workload.requests()
    sessions = sum(1 for r in requests if r.kind is Kind.RESULTS)
    counts = {level: replay(level, density.config, workload) for level in density.levels}
    return Measured(density, counts, time.monotonic() - started, len(requests) / max(1, sessions))


def verdict(met: bool | None, goal: str) -> str:
    if met is None:
        return f"not measured ({goal})"
    return f"[ok]met[/] ({goal})" if met else f"[bad]missed[/] ({goal})"


def _share(value: float) -> str:
    return "not measured" if math.isnan(value) else f"{value:.2%}"


def render(results: list[Measured]) -> Table:
    table = Table(title="roadie bench search (virtual-time replay, calls as % of naive)", title_justify="left")
    for column in ("mechanism", *(m.density.name for m in results), "goal"):
        table.add_column(column)
    conservative, denser = results[0], results[-1]
    for level in Level:
        cells = [_share(m.counts[level].share_of_naive) if level in m.counts else "not measured" for m in results]
        table.add_row(level.value, *cells, _level_goal(level, conservative, denser))
    table.add_row(
        "  with per-supplier merge windows", *("not measured" for _ in results),
        verdict(None, f"<= {GOAL_PER_SUPPLIER_WINDOWS:.0%} conservative: per-supplier windows not in this build"),
    )  # fmt: skip
    full = [m.counts.get(Level.RENDEZVOUS) for m in results]
    table.add_row(
        "wrongly hidden (of lookups)",
        *(_share(c.wrongly_hidden_share) if c else "not measured" for c in full),
        verdict(_all(c.wrongly_hidden_share <= GOAL_WRONGLY_HIDDEN for c in full if c), "<= 0.01 %"),
    )
    ratios = [c.bloom_over_bound if c else None for c in full]
    table.add_row(
        "Bloom memory / Bloom bound for its FPR",
        *(f"{r:.2f}x" if r is not None else "not measured" for r in ratios),
        verdict(_all(r <= GOAL_BLOOM_OVER_BOUND for r in ratios if r is not None), "<= 1.10x"),
    )
    table.add_row(
        "lookups unanswered (breaker, rate limit)",
        *(_share(c.unanswered / c.naive) if c and c.naive else "not measured" for c in full),
        "",
    )
    table.add_row("naive requests in the measured window", *(f"{c.naive:,}" if c else "" for c in full), "")
    table.add_row(
        "density: share of the design documents' requests per hotel",
        *(f"1/{1 / m.design_share():,.0f}" for m in results),
        "",
    )
    table.add_row("replay time", *(f"{m.seconds:.0f} s" for m in results), "")
    return table


def _all(checks: Iterable[bool]) -> bool | None:
    values = list(checks)
    return all(values) if values else None


def _level_goal(level: Level, conservative: Measured, denser: Measured) -> str:
    if level is not Level.RENDEZVOUS:
        return ""
    low = conservative.counts.get(level)
    high = denser.counts.get(level)
    low_verdict = verdict(None if low is None else low.share_of_naive <= GOAL_CONSERVATIVE, "<= 12 % conservative")
    high_verdict = verdict(None if high is None else high.share_of_naive <= GOAL_DENSER, f"<= 5 % at {DENSER}x")
    return f"{low_verdict}; {high_verdict}"


def command(
    lab: Annotated[bool, typer.Option("--lab", help="The real-time lab run instead (needs the lab).")] = False,
    sessions: Annotated[
        float, typer.Option(min=0.001, max=1.0, help="Sessions per second at the peak, conservative density.")
    ] = CONSERVATIVE_SESSIONS_PER_SECOND,
    all_levels: Annotated[
        bool, typer.Option("--all-levels", help="Replay every mechanism at the denser density too (about 4x longer).")
    ] = False,
) -> None:
    """Supplier calls as % of naive per mechanism, wrongly hidden offers and Bloom memory, in steady state."""
    if lab:
        with console.status("benchmarking hotel search on the lab (about two minutes)..."):
            result = search_lab.SearchBenchmark(load_lab(), search_lab.SearchBenchConfig()).run()
        console.print(search_lab.render(result))
        return
    base = ReplayConfig(workload=WorkloadConfig(sessions_per_second=sessions))
    results = []
    for density in densities(base, all_levels):
        with console.status(f"replaying the {density.name} density ({len(density.levels)} mechanisms)..."):
            results.append(measure(density))
    console.print(render(results))
