"""`roadie bench search --lab`: the search in real time against the lab's Redis and supplier
simulator: what only the lab shows (cache-hit latency, over-limit calls counted by the simulator,
the Bloom filter on real Redis). The default `roadie bench search` is the virtual-time replay
(``roadie.bench.search``); this run's "naive" is the old one per supplier per search.

A seeded, Zipf-distributed workload over ``hotels`` hotels (default 10,000): each search asks
for ``hotels_per_search`` hotels drawn by popularity (rank r has weight 1/r^s), a check-in date
from a lead-time mix (this week / this month / this season / months ahead, with Friday and
Saturday arrivals twice as likely), a length of stay and an occupancy from typical mixes. It runs
the real search (``app.search.wiring.SearchRuntime``: offer store, Bloom negative cache,
coalescing, rate limits, breakers) in this process, against the lab's Redis (through Sentinel,
with a key prefix of its own) and the lab's supplier simulator, and prints:

1. supplier calls per 1000 searches: a naive pass-through (one call per supplier per search)
   vs roadie, counted by the simulator itself (goal: roadie <= 5 % of naive), after a warm-up
   of the same length, and the share of lookups answered by each layer;
2. cache-hit latency p50/p99 of whole searches whose answers are all cached;
3. the Bloom negative cache's memory per key, and its false-positive rate measured on the lab's
   Redis, vs the 64 bytes per key an Aerospike primary-index entry costs (goal <= 21 bits/key at
   <= 0.01 % FPR).

Bounded: at most ``searches`` x 2 searches and ``max_seconds`` per phase; loopback only.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import random
import statistics
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from redis.exceptions import RedisError
from rich.table import Table

from app.search.bloom import BloomParams, ShardedRedisBloom
from app.search.models import Occupancy, Room, SearchRequest
from app.search.negative_cache import NegativeCacheConfig
from app.search.wiring import SearchRuntime, SearchSettings, load_settings
from roadie.bench.search_workload import LEAD_TIME_MIX, NIGHTS_MIX, OCCUPANCY_MIX
from roadie.console import console
from roadie.errors import RoadieError
from roadie.lab.inventory import Lab

AEROSPIKE_INDEX_BITS = 64 * 8  # one primary-index entry per record, in RAM
BLOOM_GOAL_BITS = 21
BLOOM_GOAL_FPR = 1e-4
CALLS_GOAL = 0.05


@dataclass(frozen=True)
class SearchBenchConfig:
    hotels: int = 10_000
    searches: int = 2000
    hotels_per_search: int = 10
    zipf_s: float = 1.1
    concurrency: int = 48
    suppliers: tuple[str, ...] = ("fast", "flaky")
    max_seconds: float = 60.0
    bloom_keys: int = 100_000
    bloom_probes: int = 200_000
    seed: int = 7


@dataclass
class Phase:
    searches: int
    seconds: float
    supplier_calls: int
    hotels_asked: int
    over_limit: int
    lookups: dict[str, int] = field(default_factory=dict)


@dataclass
class SearchBench:
    config: SearchBenchConfig
    distinct_stays: int
    warmup: Phase
    measured: Phase
    hit_latencies_ms: list[float]
    bloom: BloomParams
    bloom_fpr: float

    @property
    def naive_per_1000(self) -> float:
        return 1000.0 * len(self.config.suppliers)

    @property
    def naive_per_hotel_per_1000(self) -> float:
        """A pass-through without batching: one call per supplier per hotel of each search."""
        return self.naive_per_1000 * self.config.hotels_per_search

    @property
    def roadie_per_1000(self) -> float:
        """Calls roadie decided to make (coalesced batches), whether or not the limiter let them go."""
        return 1000.0 * self.measured.lookups.get("batches", 0) / max(1, self.measured.searches)

    @property
    def sent_per_1000(self) -> float:
        """Calls that reached the suppliers (counted by the simulator)."""
        return 1000.0 * self.measured.supplier_calls / max(1, self.measured.searches)


class Workload:
    """Seeded searches: Zipf hotels, a lead-time mix with weekend arrivals, stay and occupancy mixes."""

    def __init__(self, config: SearchBenchConfig, today: date) -> None:
        self.config = config
        self.today = today
        self._random = random.Random(config.seed)
        weights = [1.0 / (rank**config.zipf_s) for rank in range(1, config.hotels + 1)]
        self._cumulative = list(itertools.accumulate(weights))
        self._hotel_ids = [f"bh{n:06d}" for n in range(config.hotels)]
        self._random.shuffle(self._hotel_ids)  # popularity is not the id order
        self._days, self._day_weights = self._lead_time_days()
        self._nights = list(NIGHTS_MIX)
        self._night_weights = list(NIGHTS_MIX.values())
        self._occupancies = [
            Occupancy(rooms=tuple(Room(adults=a, children_ages=ages) for a, ages in rooms))
            for _, rooms in OCCUPANCY_MIX
        ]
        self._occupancy_weights = [share for share, _ in OCCUPANCY_MIX]

    def _lead_time_days(self) -> tuple[list[int], list[float]]:
        days, weights = [], []
        for share, first, last in LEAD_TIME_MIX:
            span = range(first, last + 1)
            raw = [2.0 if (self.today + timedelta(days=d)).weekday() in (4, 5) else 1.0 for d in span]
            total = sum(raw)
            days += list(span)
            weights += [share * w / total for w in raw]
        return days, weights

    def hotel(self) -> str:
        point = self._random.random() * self._cumulative[-1]
        return self._hotel_ids[bisect.bisect_left(self._cumulative, point)]

    def search(self) -> SearchRequest:
        hotels: dict[str, None] = {}
        while len(hotels) < self.config.hotels_per_search:
            hotels[self.hotel()] = None
        lead = self._random.choices(self._days, self._day_weights)[0]
        return SearchRequest.model_construct(
            hotel_ids=tuple(hotels),
            city=None,
            checkin=self.today + timedelta(days=lead),
            nights=self._random.choices(self._nights, self._night_weights)[0],
            occupancy=self._random.choices(self._occupancies, self._occupancy_weights)[0],
        )


class SearchBenchmark:
    def __init__(self, lab: Lab, config: SearchBenchConfig, settings_path: Path | None = None) -> None:
        self.lab = lab
        self.config = config
        self.settings_path = settings_path or self._lab_settings_path()

    def _lab_settings_path(self) -> Path:
        apps = self.lab.group("app")
        if not apps:
            raise RoadieError("the lab inventory has no app hosts")
        path = apps[0].root / "etc" / "roadie-app" / "search.yml"
        if not path.is_file():
            raise RoadieError(f"{path} not found: deploy search first (ansible/playbooks/search.yml)")
        return path

    def settings(self) -> SearchSettings:
        base = load_settings(self.settings_path)
        me = base.nodes[0].model_copy(update={"name": "bench"})
        unknown = sorted(set(self.config.suppliers) - {s.name for s in base.suppliers})
        if unknown:
            raise RoadieError(f"suppliers {unknown} are not configured in {self.settings_path}")
        return base.model_copy(
            update={
                "node": "bench",
                "nodes": (me,),
                "key_prefix": f"bench:{uuid.uuid4().hex[:8]}:",
                "suppliers": tuple(s for s in base.suppliers if s.name in self.config.suppliers),
            }
        )

    def run(self) -> SearchBench:
        return asyncio.run(self._run())

    async def _run(self) -> SearchBench:
        settings = self.settings()
        runtime = SearchRuntime.build(settings)
        sim_url = settings.suppliers[0].url
        workload = Workload(self.config, datetime.now(UTC).date() + timedelta(days=1))
        try:
            async with httpx.AsyncClient(base_url=sim_url, timeout=10) as sim:
                warmup, _ = await self._phase(runtime, workload, sim)
                measured, answered = await self._phase(runtime, workload, sim)
            latencies = await self._cache_hits(runtime, answered[:1000])
            bloom, fpr = await self._bloom(runtime, settings.key_prefix)
            distinct = len({(r.checkin, r.nights, r.occupancy) for r in answered})
        finally:
            await self._cleanup(runtime, settings.key_prefix)
            await runtime.stop()
        return SearchBench(self.config, distinct, warmup, measured, latencies, bloom, fpr)

    async def _phase(
        self, runtime: SearchRuntime, workload: Workload, sim: httpx.AsyncClient
    ) -> tuple[Phase, list[SearchRequest]]:
        requests = [workload.search() for _ in range(self.config.searches)]
        before = await _sim_totals(sim, self.config.suppliers)
        counts = _lookup_counts(runtime)
        queue: asyncio.Queue[SearchRequest] = asyncio.Queue()
        for request in requests:
            queue.put_nowait(request)
        done: list[SearchRequest] = []
        deadline = time.monotonic() + self.config.max_seconds

        async def worker() -> None:
            while not queue.empty() and time.monotonic() < deadline:
                request = queue.get_nowait()
                await runtime.search(request, self.config.suppliers)
                done.append(request)

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(self.config.concurrency)))
        seconds = time.monotonic() - started
        after = await _sim_totals(sim, self.config.suppliers)
        lookups = {k: v - counts.get(k, 0) for k, v in _lookup_counts(runtime).items()}
        phase = Phase(
            searches=len(done),
            seconds=seconds,
            supplier_calls=after["accepted"] - before["accepted"],
            hotels_asked=after["hotels_requested"] - before["hotels_requested"],
            over_limit=after["over_limit"] - before["over_limit"],
            lookups=lookups,
        )
        return phase, done

    async def _cache_hits(self, runtime: SearchRuntime, requests: list[SearchRequest]) -> list[float]:
        """Latency of whole searches answered from the offer store and the negative cache only
        (one at a time; the first few warm the connections and are not counted)."""
        for request in requests[:10]:
            await runtime.search(request, self.config.suppliers)
        latencies = []
        for request in requests[10:]:
            started = time.perf_counter()
            response = await runtime.search(request, self.config.suppliers)
            elapsed = (time.perf_counter() - started) * 1000
            if all(h.source in (None, "cache") and not h.suppliers_skipped for h in response.hotels):
                latencies.append(elapsed)
        return latencies

    async def _bloom(self, runtime: SearchRuntime, prefix: str) -> tuple[BloomParams, float]:
        """One negative-cache filter as the search sizes it (sharded, first generation full)."""
        config = NegativeCacheConfig(capacity=self.config.bloom_keys, target_fpr=BLOOM_GOAL_FPR)
        plan = config.plan()
        bloom = ShardedRedisBloom(runtime.redis, plan, config.shards)
        first = plan.generations[0]
        params = BloomParams(
            bits=first.bits * config.shards, hashes=first.hashes, capacity=first.capacity * config.shards
        )
        key = f"{prefix}bloom-bench"
        expire = int(time.time()) + 600
        for start in range(0, self.config.bloom_keys, 5000):
            items = [(key, f"in-{n}".encode()) for n in range(start, min(start + 5000, self.config.bloom_keys))]
            await bloom.add(items, {key: expire})
        false_positives = 0
        for start in range(0, self.config.bloom_probes, 5000):
            probes = [((key,), f"out-{n}".encode()) for n in range(start, min(start + 5000, self.config.bloom_probes))]
            false_positives += sum(await bloom.contains(probes))
        return params, false_positives / self.config.bloom_probes

    async def _cleanup(self, runtime: SearchRuntime, prefix: str) -> None:
        """Delete the run's keys (best effort: every key of the run expires on its own anyway)."""
        try:
            keys = [key async for key in runtime.redis.scan_iter(match=f"{prefix}*", count=5000)]
            for start in range(0, len(keys), 1000):
                await runtime.redis.delete(*keys[start : start + 1000])
        except RedisError as exc:
            console.print(f"[yellow]could not delete the benchmark's keys ({exc}); they expire on their own[/]")


def _lookup_counts(runtime: SearchRuntime) -> dict[str, int]:
    stats = runtime.fetcher.coalescer.stats
    return {"batches": stats.batches, "items": stats.items, "shared": stats.shared, "requests": stats.requests}


async def _sim_totals(sim: httpx.AsyncClient, suppliers: tuple[str, ...]) -> dict[str, int]:
    stats = (await sim.get("/stats")).raise_for_status().json()["suppliers"]
    return {
        name: sum(int(stats[s][name]) for s in suppliers) for name in ("accepted", "hotels_requested", "over_limit")
    }


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def render(r: SearchBench) -> Table:
    table = Table(title="roadie bench search --lab", title_justify="left")
    for column in ("measure", "roadie", "baseline", "ratio", "goal"):
        table.add_column(column)
    m = r.measured
    share = r.roadie_per_1000 / r.naive_per_1000
    table.add_row(
        f"supplier calls per 1000 searches ({len(r.config.suppliers)} suppliers; naive: 1 per supplier per search)",
        f"{r.roadie_per_1000:,.1f}",
        f"{r.naive_per_1000:,.0f}",
        f"{share:.1%}",
        _goal(share <= CALLS_GOAL, "<= 5 %"),
    )
    per_hotel = r.roadie_per_1000 / r.naive_per_hotel_per_1000
    table.add_row(
        "  same, vs naive without batching (1 call per supplier per hotel)",
        f"{r.roadie_per_1000:,.1f}",
        f"{r.naive_per_hotel_per_1000:,.0f}",
        f"{per_hotel:.1%}",
        _goal(per_hotel <= CALLS_GOAL, "<= 5 %"),
    )
    table.add_row(
        "  of which the shared rate limits let through (simulator count)",
        f"{r.sent_per_1000:,.1f}",
        "",
        f"{m.over_limit} over-limit",
        "",
    )
    asked = m.searches * r.config.hotels_per_search * len(r.config.suppliers)
    coalescer = m.lookups
    table.add_row(
        "hotel lookups sent to suppliers (of all lookups)",
        f"{m.hotels_asked:,}",
        f"{asked:,}",
        f"{m.hotels_asked / max(1, asked):.1%}",
        "",
    )
    table.add_row(
        "misses merged into shared calls (coalescer)",
        f"{coalescer.get('items', 0):,} hotels in {coalescer.get('batches', 0):,} calls",
        f"{coalescer.get('requests', 0):,} misses",
        f"{coalescer.get('shared', 0):,} joined in-flight",
        "",
    )
    table.add_row(
        "searches measured / warm-up (distinct stays+occupancies)",
        f"{m.searches:,} in {m.seconds:.1f} s",
        f"{r.warmup.searches:,} in {r.warmup.seconds:.1f} s",
        f"{r.distinct_stays:,} stays",
        f"{m.over_limit + r.warmup.over_limit} over-limit (429) calls",
    )
    hits = r.hit_latencies_ms
    table.add_row(
        f"cache-hit search latency p50 / p99 ({len(hits)} searches of {r.config.hotels_per_search} hotels)",
        f"{_percentile(hits, 0.5):.2f} / {_percentile(hits, 0.99):.2f} ms",
        f"mean {statistics.fmean(hits):.2f} ms" if hits else "",
        "",
        "",
    )
    bits = r.bloom.bits_per_key
    table.add_row(
        f"negative cache memory per key (Bloom, {r.bloom.capacity:,} keys, k={r.bloom.hashes})",
        f"{bits:.1f} bits",
        f"{AEROSPIKE_INDEX_BITS} bits (Aerospike index entry)",
        f"{AEROSPIKE_INDEX_BITS / bits:.0f}x smaller",
        _goal(bits <= BLOOM_GOAL_BITS and r.bloom_fpr <= BLOOM_GOAL_FPR, "<= 21 bits at <= 0.01 % FPR"),
    )
    table.add_row(
        f"false-positive rate measured on Redis ({r.config.bloom_probes:,} probes)",
        f"{r.bloom_fpr:.4%}",
        f"{r.bloom.expected_fpr():.4%} expected",
        "",
        "",
    )
    return table


def _goal(met: bool, goal: str) -> str:
    return f"[green]met[/] ({goal})" if met else f"[red]missed[/] ({goal})"


def summary(result: SearchBench) -> dict[str, Any]:
    """The numbers as data (docs, reports)."""
    return {
        "naive_calls_per_1000": result.naive_per_1000,
        "naive_per_hotel_calls_per_1000": result.naive_per_hotel_per_1000,
        "roadie_calls_per_1000": result.roadie_per_1000,
        "sent_calls_per_1000": result.sent_per_1000,
        "cache_hit_p50_ms": _percentile(result.hit_latencies_ms, 0.5),
        "cache_hit_p99_ms": _percentile(result.hit_latencies_ms, 0.99),
        "bloom_bits_per_key": result.bloom.bits_per_key,
        "bloom_fpr_measured": result.bloom_fpr,
    }
