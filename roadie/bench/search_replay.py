"""The virtual-time replay: the workload through the real search, mechanism by mechanism.

``replay(level, config)`` builds ``config.nodes`` search nodes (``SearchRuntime.build``: the real
offer cache logic, Bloom negative cache, coalescer, rendezvous routing and forwarding, rate
limiter and breakers) on the stand-ins of ``search_standins`` (virtual clock, Redis, offer
store, suppliers, the network between nodes), sends every request of the workload to a node
drawn at random (the load balancer), and counts, in the measured window only:

- naive: one request per (search, hotel, supplier that sells the hotel);
- calls: supplier calls the stand-in suppliers received;
- lookups hidden by the negative cache although the supplier offers the key (the stand-in
  supplier's answers are the oracle), and lookups left unanswered (breaker, rate limit);
- the Bloom filters' memory against the Bloom bound for the FPR their bits give.

The mechanisms (``Level``) are configurations of the same code: the negative cache replaced by
one that remembers nothing, batches of one hotel without a merge window, and each node alone in
its ring (no rendezvous) until the last level.

The hotel -> supplier mapping is the workload's (``World.sells``): until the directory carries
it, a request is searched as one search per supplier over the hotels that supplier sells.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import httpx

from app.search.cache_key import BatchKey
from app.search.models import SearchRequest, SearchResponse
from app.search.negative_cache import BloomNegativeCache, NegativeKey
from app.search.wiring import (
    BatchingSettings,
    NegativeCacheSettings,
    NodeSettings,
    RateLimitSettings,
    SearchRuntime,
    SearchSettings,
    SupplierSettings,
)
from roadie.bench.search_standins import (
    Availability,
    StandInOfferStore,
    StandInRedis,
    StandInSupplier,
    VirtualClock,
    peer_transport,
    run_virtual,
)
from roadie.bench.search_workload import Request, Workload, WorkloadConfig

MERGE_WINDOW = 0.05  # today's one window for every supplier (50 ms)
BLOOM_SAMPLE_SECONDS = 1800.0
CONTRACT_CALLS_PER_SECOND = 100_000
# The nodes' token on their /internal/ calls; the replay's peers talk over an in-process transport.
REPLAY_NODE_TOKEN = "replay-node-token-not-a-secret"


class Level(Enum):
    """What is switched on, cumulatively."""

    CACHE = "offer cache only"
    NEGATIVE = "+ negative cache"
    MERGE_SEARCH = "+ merging a search's hotels"
    RENDEZVOUS = "+ merging across searches with rendezvous"


class Sabotage(Enum):
    """Known-bad configurations the figures must condemn (the benchmark's own tests use them)."""

    NONE = "none"
    NO_CACHE = "offer cache that never keeps an answer"
    ALL_UNAVAILABLE = "negative cache that says 'unavailable' to everything"


@dataclass(frozen=True, slots=True)
class ReplayConfig:
    workload: WorkloadConfig = field(default_factory=WorkloadConfig)
    warmup_hours: float = 12.0  # the longest offer TTL: every band is in steady state after it
    nodes: int = 10  # the design documents' search cluster: "a dozen servers"
    negative_capacity: int = 200  # first generation, per supplier, TTL band and bucket
    sabotage: Sabotage = Sabotage.NONE


@dataclass
class Counts:
    requests: int = 0
    naive: int = 0
    calls: int = 0
    hotels_asked: int = 0
    wrongly_hidden: int = 0
    unanswered: int = 0
    bloom_bits: float = 0.0
    bloom_bound_bits: float = 0.0
    bloom_insertions: int = 0
    by_supplier: dict[str, int] = field(default_factory=dict)

    @property
    def share_of_naive(self) -> float:
        return self.calls / self.naive if self.naive else math.nan

    @property
    def wrongly_hidden_share(self) -> float:
        return self.wrongly_hidden / self.naive if self.naive else math.nan

    @property
    def bloom_over_bound(self) -> float | None:
        """Bloom memory / the Bloom bound for its FPR (None: no filter had insertions)."""
        return self.bloom_bits / self.bloom_bound_bits if self.bloom_bound_bits else None


class _Remembers(BloomNegativeCache):
    """The negative cache switched off: it remembers nothing and knows nothing."""

    async def add_many(self, keys: Sequence[NegativeKey]) -> None:
        return None

    async def contains_many(self, keys: Sequence[NegativeKey]) -> list[bool]:
        return [False] * len(keys)


class _SaysUnavailable(BloomNegativeCache):
    async def contains_many(self, keys: Sequence[NegativeKey]) -> list[bool]:
        return [True] * len(keys)


class _Forgets(StandInOfferStore):
    async def put_many(self, records: Sequence[Any]) -> None:
        return None


class Replay:
    def __init__(self, level: Level, config: ReplayConfig, requests: Sequence[Request], workload: Workload) -> None:
        self.level = level
        self.config = config
        self.requests = requests
        self.world = workload.world
        self.workload = workload
        start = config.workload.start.timestamp()
        self.clock = VirtualClock(start)
        self.measure_from = start + config.warmup_hours * 3600
        self.redis = StandInRedis(self.clock)
        store_type = _Forgets if config.sabotage is Sabotage.NO_CACHE else StandInOfferStore
        self.store = store_type(self.clock)
        self.availability = Availability(config.workload.seed, self.world.unavailable_share)
        self.supplier = StandInSupplier(self.clock, self.availability)
        self.counts = Counts()
        self._random = random.Random(config.workload.seed + 1)
        self.nodes: dict[str, SearchRuntime] = {}

    def run(self) -> Counts:
        return run_virtual(self.clock, self._run)

    async def _run(self) -> Counts:
        self._build_nodes()
        tasks: set[asyncio.Task[None]] = set()
        nodes = list(self.nodes.values())
        next_sample = self.measure_from
        for request in self.requests:
            await asyncio.sleep(max(0.0, request.at - self.clock()))
            if request.at >= self.measure_from and not self.supplier.counting:
                self.supplier.counting = True
            while request.at >= next_sample:
                self._sample_bloom()
                next_sample += BLOOM_SAMPLE_SECONDS
            task = asyncio.get_running_loop().create_task(self._request(self._random.choice(nodes), request))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
        self.counts.calls = sum(self.supplier.calls.values())
        self.counts.hotels_asked = sum(self.supplier.hotels.values())
        self.counts.by_supplier = dict(self.supplier.calls)
        for node in nodes:
            await node.fetcher.coalescer.drain()
        return self.counts

    def _build_nodes(self) -> None:
        names = [f"node-{n + 1}" for n in range(self.config.nodes)]
        everyone = tuple(NodeSettings(name=name, url=f"http://{name}.replay") for name in names)
        transport = peer_transport(self._serve_forwarded)
        for name, me in zip(names, everyone, strict=True):
            settings = self._settings(name, everyone if self.level is Level.RENDEZVOUS else (me,))
            ttl = settings.ttl_table()
            negative = None
            cache_type = {Level.CACHE: _Remembers}.get(self.level)
            if self.config.sabotage is Sabotage.ALL_UNAVAILABLE:
                cache_type = _SaysUnavailable
            if cache_type is not None:
                negative = cache_type(self.redis, settings.negative_cache.config(ttl), self.clock)
            self.nodes[me.url] = SearchRuntime.build(
                settings,
                clock=self.clock,
                redis=self.redis,
                store=self.store,
                supplier=self.supplier,
                negative=negative,
                peer_http=httpx.AsyncClient(transport=transport),
            )

    def _settings(self, name: str, ring: tuple[NodeSettings, ...]) -> SearchSettings:
        merge = self.level in (Level.MERGE_SEARCH, Level.RENDEZVOUS)
        return SearchSettings(
            node=name,
            nodes=ring,
            redis={"url": "redis://redis.replay"},  # never connected: the stand-in is passed in
            node_token=REPLAY_NODE_TOKEN,
            suppliers=tuple(
                SupplierSettings(name=s, url=f"http://{s}.replay", rate_limit=self._contract(s))
                for s in self.world.supplier_names
            ),
            batching=BatchingSettings(
                max_wait=MERGE_WINDOW if merge else 0.0, max_batch=50 if merge else 1, limit_wait=0.5
            ),
            negative_cache=NegativeCacheSettings(capacity=self.config.negative_capacity),
        )

    def _contract(self, supplier: str) -> RateLimitSettings:
        """A contract far above any demand of the replay: every call takes a slot of the real
        limiter and none is refused (a refused call would lower the calls and pass for a saving);
        what binding contracts do is measured by the lab run and the limiter's tests."""
        return RateLimitSettings(calls=CONTRACT_CALLS_PER_SECOND, per=1.0)

    async def _serve_forwarded(self, url: str, batch: BatchKey, hotels: Sequence[str]) -> dict[str, Any]:
        return await self.nodes[url].serve_forwarded(batch, hotels)

    async def _request(self, node: SearchRuntime, request: Request) -> None:
        by_supplier: dict[str, list[str]] = {}
        for hotel in request.hotels:
            for supplier in self.world.sells[hotel]:
                by_supplier.setdefault(supplier, []).append(hotel)
        stay = request.stay
        searches = [
            node.search(
                SearchRequest.model_construct(
                    hotel_ids=tuple(hotels),
                    city=None,
                    checkin=stay.checkin,
                    nights=stay.nights,
                    occupancy=stay.occupancy,
                ),
                (supplier,),
            )
            for supplier, hotels in by_supplier.items()
        ]
        responses = await asyncio.gather(*searches)
        if request.at >= self.measure_from:
            self._count(request, responses)

    def _count(self, request: Request, responses: Sequence[SearchResponse]) -> None:
        counts = self.counts
        counts.requests += 1
        stay = request.stay
        occupancy = stay.canonical
        for response in responses:
            for best in response.hotels:
                counts.naive += 1
                counts.unanswered += len(best.suppliers_skipped)
                for supplier in best.suppliers_unavailable:
                    if self.availability.available(supplier, best.hotel_id, stay.checkin, stay.nights, occupancy):
                        counts.wrongly_hidden += 1

    def _sample_bloom(self) -> None:
        """Add the live filters' memory and their Bloom bound (for the FPR their set bits give)."""
        plan = next(iter(self.nodes.values())).negative.plan
        shards: dict[str, dict[str, Any]] = {}
        for key, value in self.redis.live_strings("bloom:neg:v2:"):
            base, _, part = key.rpartition(":")
            if part == "n":
                shards.setdefault(base, {})["n"] = int(value)
            elif part.startswith("g"):
                shards.setdefault(base, {})[part] = value
        for shard in shards.values():
            inserted = min(shard.get("n", 0), sum(p.capacity for p in plan.generations))
            bitmaps = [(int(g[1:]), bits) for g, bits in shard.items() if g != "n"]
            if not inserted or not bitmaps:
                continue
            miss_all = 1.0
            for g, bits in bitmaps:
                params = plan.generations[g]
                fill = int.from_bytes(bits, "big").bit_count() / params.bits
                miss_all *= 1.0 - fill**params.hashes
            fpr = 1.0 - miss_all
            self.counts.bloom_bits += sum(len(bits) * 8 for _, bits in bitmaps)
            self.counts.bloom_insertions += inserted
            if fpr > 0:
                self.counts.bloom_bound_bits += inserted * math.log2(1 / fpr) / math.log(2)


def replay(level: Level, config: ReplayConfig, workload: Workload | None = None) -> Counts:
    workload = workload or Workload(config.workload)
    return Replay(level, config, workload.requests(), workload).run()


def started(config: ReplayConfig) -> str:
    return datetime.fromtimestamp(config.workload.start.timestamp(), UTC).isoformat()
