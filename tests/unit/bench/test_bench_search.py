"""The search replay's figures can fail: a small replay through the real search, and known-bad
configurations that must get the bad verdict (cache off -> about all of naive; a negative cache
that says "unavailable" to everything -> many wrongly hidden offers)."""

import asyncio
import itertools
import time
from dataclasses import replace

import pytest

from roadie.bench.search import GOAL_CONSERVATIVE, GOAL_WRONGLY_HIDDEN, Measured, densities, render, verdict
from roadie.bench.search_replay import Level, ReplayConfig, Sabotage, replay
from roadie.bench.search_standins import VirtualClock, VirtualTimeDeadlock, run_virtual
from roadie.bench.search_workload import Kind, Workload, WorkloadConfig

# Two hours, one of warm-up, 2 % of the lab's hotels: a few seconds per replay.
SMALL = ReplayConfig(
    workload=WorkloadConfig(sessions_per_second=0.02, hours=2.0, city_scale=0.02), warmup_hours=1.0, nodes=3
)


@pytest.fixture(scope="module")
def workload() -> Workload:
    return Workload(SMALL.workload)


@pytest.fixture(scope="module")
def full(workload: Workload):
    return replay(Level.RENDEZVOUS, SMALL, workload)


def test_the_workload_is_seeded_and_has_sessions(workload: Workload) -> None:
    again = Workload(SMALL.workload).requests()
    first = workload.requests()
    assert first == again
    kinds = {r.kind for r in first}
    assert kinds == {Kind.RESULTS, Kind.HOTEL, Kind.REFINED}
    assert all(a.at <= b.at for a, b in itertools.pairwise(first))
    sellers = [len(workload.world.sells[h]) for h in workload.world.sells]
    assert min(sellers) >= 1 and max(sellers) > 1


def test_the_full_search_calls_far_less_than_naive_and_hides_nothing_wrongly(full) -> None:
    assert full.naive > 500
    assert 0 < full.calls < 0.6 * full.naive
    assert full.wrongly_hidden_share <= GOAL_WRONGLY_HIDDEN
    assert full.unanswered == 0
    assert full.bloom_over_bound is not None


def test_without_an_offer_cache_every_lookup_is_a_call(workload: Workload, full) -> None:
    broken = replay(Level.CACHE, replace(SMALL, sabotage=Sabotage.NO_CACHE), workload)
    assert broken.share_of_naive > 0.95  # ~100 % of naive: one call per lookup
    assert verdict(broken.share_of_naive <= GOAL_CONSERVATIVE, "x").startswith("[bad]missed")
    assert broken.calls > 2 * full.calls


def test_a_negative_cache_that_says_unavailable_to_everything_is_caught(workload: Workload) -> None:
    broken = replay(Level.RENDEZVOUS, replace(SMALL, sabotage=Sabotage.ALL_UNAVAILABLE), workload)
    assert broken.wrongly_hidden_share > 0.2  # about half of the keys are available
    assert broken.calls == 0


def test_the_table_prints_missed_and_not_measured(workload: Workload, full) -> None:
    conservative, denser = densities(SMALL)
    bad = Measured(conservative, {level: full for level in Level}, 1.0, 2.0)
    bad.counts[Level.RENDEZVOUS] = replace(full, calls=full.naive)  # 100 % of naive
    partial = Measured(denser, {Level.RENDEZVOUS: full}, 1.0, 2.0)
    table = render([bad, partial])
    cells = [str(cell) for column in table.columns for cell in column._cells]
    assert any("missed" in cell and "12 %" in cell for cell in cells)
    assert "not measured" in cells  # levels not replayed at the denser density


def test_a_replay_that_would_wait_forever_says_so() -> None:
    async def forever() -> None:
        await asyncio.get_running_loop().create_future()

    with pytest.raises(VirtualTimeDeadlock):
        run_virtual(VirtualClock(0.0), forever)


def test_virtual_time_passes_without_wall_time() -> None:
    clock = VirtualClock(1_900_000_000.0)

    async def day() -> float:
        await asyncio.sleep(86_400)
        return clock()

    started = time.monotonic()
    assert run_virtual(clock, day) == pytest.approx(1_900_086_400.0)
    assert time.monotonic() - started < 1.0
