"""Building the search from its settings, and routing cache misses to the node that owns them.

The search settings are their own YAML file (rendered by the Ansible role ``app_search`` next to
the app's ``app.yml``)::

    node: app-1                          # this node's name, one of ``nodes``
    nodes:                               # every search node (membership = this list + health)
      - {name: app-1, url: "http://127.1.1.31:8000", weight: 1}
    node_token: ...                      # what nodes send each other on /internal/ (a secret)
    health: {path: /healthz, interval: 1s, timeout: 500ms, fall: 2, rise: 2}
    redis:                               # breaker state, rate limits, Bloom filters, look-to-book
      sentinels: [[127.1.1.21, 26379]]
      service: roadie
      username: app
      password: ...
      sentinel_password: ...
    offer_store: {backend: redis}        # or {backend: aerospike, hosts: [...], namespace: offers}
    suppliers:                           # per supplier: contract and how it is called
      - {name: fast, url: "http://127.1.0.71:8100", rate_limit: {calls: 200, per: 1s},
         max_wait: 200ms, max_batch: 100, timeout: 1s,           # omitted: batching's, supplier_timeout
         look_to_book: {max_ratio: 3000, throttle_from: 0.8, days: 1}}   # omitted: no cap
    batching: {max_wait: 50ms, max_batch: 50, limit_wait: 500ms, forward_wait: 2ms}
    redis_fallback: {enabled: true, probe_interval: 1s}   # Redis down: local mode (redis_fallback)
    breaker: {time_scale: 0.01}          # ``breaker.BreakerPolicy`` fields
    offer_ttl: [{max_days: 0, ttl: 5m}, {ttl: 12h}]   # ``ttl.TtlTable``; omitted: the default table
    negative_cache: {capacity: 100000, target_fpr: 0.0001, shards: 16}   # grows past capacity
    directory: {file: /etc/roadie-app/hotels.json, max_hotels: 100}   # city search; omitted: ids only

Where the file is: ``$ROADIE_SEARCH_CONFIG``, else ``search.yml`` beside ``$ROADIE_APP_CONFIG``.
With no file the app runs without search (the endpoints answer 503 and say why). Variables
``ROADIE_SEARCH__<PATH>`` override the file as ``ROADIE_APP__<PATH>`` do the app's settings
(``app.common.env_overlay``): on Kubernetes the Redis passwords and the node token come from a Secret.

Per-supplier settings (``contracts.SupplierContract``) are checked when the file is read: a merge
window above 2 s, a batch above 1,000 hotels, a timeout of 0 or above 30 s, a look-to-book cap of
0 or a throttle share outside (0, 1] are refused, as is a supplier whose merge window, slot wait
and timeout add up to ``forward_timeout`` or more (a forward to its owner would time out first).

Routing: a miss for (supplier, check-in, nights) belongs to the rendezvous owner of that routing
key among the healthy nodes. A node that is not the owner forwards the miss to the owner's
``/internal/v1/search/fetch`` (misses for the same owner and batch key are merged into one
forward), and the owner coalesces it with its own. A forward that cannot connect marks the owner
down at once and tries the next node of the ranking; the health poller brings it back. A forward
that connected but got no answer within ``forward_timeout`` also goes to the next node (the
owner is not marked down: it may only be slow, and its health checks decide). A node
never re-forwards a forwarded request, so nodes that disagree about membership cannot ping-pong.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import httpx
import yaml
from prometheus_client import CollectorRegistry, Gauge
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from app.common import env_overlay
from app.common.metrics import REGISTRY as APP_REGISTRY  # the registry the app's /metrics serves
from app.search.batching import Coalescer
from app.search.bloom import DEFAULT_GROWTH, DEFAULT_MAX_GENERATIONS
from app.search.booking import BookingService
from app.search.breaker import BreakerPolicy, hides_offers
from app.search.breaker_redis import RedisBreaker, load_states
from app.search.cache_key import BatchKey, OfferKey, routing_key
from app.search.contracts import MAX_BATCH, MAX_MERGE_WINDOW, MAX_TIMEOUT, SupplierContract
from app.search.directory import DirectoryError, FileDirectory, HotelDirectory
from app.search.durations import parse_duration
from app.search.fetcher import Supplier, SupplierFetcher
from app.search.look_to_book import (
    DEFAULT_THROTTLE_FROM,
    RETENTION_DAYS,
    LookToBookCap,
    LookToBookGuard,
    LookToBookTracker,
)
from app.search.membership import HealthCheckConfig, HealthPoller, Membership
from app.search.metrics import SearchMetrics
from app.search.models import MAX_HOTELS_PER_SEARCH, CitySearched, HotelAnswer, SearchRequest, SearchResponse
from app.search.negative_cache import DEFAULT_SHARDS, BloomNegativeCache, NegativeCacheConfig
from app.search.offer_store import OfferStore, create_offer_store
from app.search.rate_limit import DEFAULT_SAFETY_RATIO, MAX_SAFETY_RATIO, RedisRateLimiter, SupplierLimit
from app.search.redis_client import RedisSettings, connect
from app.search.redis_fallback import (
    DEFAULT_PROBE_INTERVAL,
    REDIS_DOWN,
    FallbackBreaker,
    RedisHealth,
    fallback_breakers,
)
from app.search.rendezvous import Node
from app.search.service import SearchService
from app.search.supplier_client import SupplierClient
from app.search.ttl import TtlTable

log = logging.getLogger(__name__)

SEARCH_CONFIG_ENV = "ROADIE_SEARCH_CONFIG"
APP_CONFIG_ENV = "ROADIE_APP_CONFIG"
SEARCH_CONFIG_NAME = "search.yml"
SEARCH_ENV_PREFIX = "ROADIE_SEARCH__"
FORWARD_PATH = "/internal/v1/search/fetch"
FORWARDED_HEADER = "x-roadie-search-forwarded"
# Filter fill is read from every shard's counter of every supplier and TTL band (hundreds of
# keys per supplier): once a minute is plenty for an alert that waits 5 minutes.
NEGATIVE_FILL_INTERVAL = 60.0

Seconds = Annotated[float, BeforeValidator(parse_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NodeSettings(_Strict):
    name: str = Field(min_length=1)
    url: str = Field(pattern=r"^https?://")
    weight: float = Field(1.0, gt=0)


class HealthSettings(_Strict):
    path: str = "/healthz"
    interval: Seconds = 1.0
    timeout: Seconds = 0.5
    fall: int = Field(2, ge=1)
    rise: int = Field(2, ge=1)


class RateLimitSettings(_Strict):
    """A contract: ``calls`` per ``per``. The safety margin widening the window is ``safety_ratio``
    of it (5 %: 95 % of the contract usable), or ``safety`` seconds when given."""

    calls: int = Field(ge=1)
    per: Seconds = Field(gt=0)
    safety: Seconds | None = Field(None, ge=0)
    safety_ratio: float = Field(DEFAULT_SAFETY_RATIO, ge=0, le=MAX_SAFETY_RATIO)


class LookToBookSettings(_Strict):
    """The contract's look-to-book cap (``look_to_book.LookToBookCap``)."""

    max_ratio: float = Field(gt=0)  # looks (supplier calls) per booking
    throttle_from: float = Field(DEFAULT_THROTTLE_FROM, gt=0, le=1)  # share of the cap where throttling starts
    days: int = Field(1, ge=1, le=RETENTION_DAYS)  # the period the ratio is counted over (UTC days)


class SupplierSettings(_Strict):
    """A supplier: where, its contract, and how it is called (omitted: the global settings)."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    url: str = Field(pattern=r"^https?://")
    rate_limit: RateLimitSettings | None = None
    max_wait: Seconds | None = Field(None, ge=0, le=MAX_MERGE_WINDOW)  # merge window (batching.max_wait)
    max_batch: int | None = Field(None, ge=1, le=MAX_BATCH)  # hotels per call (batching.max_batch)
    timeout: Seconds | None = Field(None, gt=0, le=MAX_TIMEOUT)  # of one call (supplier_timeout)
    limit_wait: Seconds | None = Field(None, ge=0)  # for a rate-limit slot (batching.limit_wait)
    look_to_book: LookToBookSettings | None = None  # None: no cap enforced

    def contract(self, batching: BatchingSettings, timeout: float) -> SupplierContract:
        cap = self.look_to_book
        return SupplierContract(
            max_wait=batching.max_wait if self.max_wait is None else self.max_wait,
            max_batch=batching.max_batch if self.max_batch is None else self.max_batch,
            limit_wait=batching.limit_wait if self.limit_wait is None else self.limit_wait,
            timeout=timeout if self.timeout is None else self.timeout,
            look_to_book=None if cap is None else LookToBookCap(cap.max_ratio, cap.throttle_from, cap.days),
        )


class RedisFallbackSettings(_Strict):
    """What a node does when Redis is unreachable (``redis_fallback``)."""

    enabled: bool = True  # False: every supplier call fails while Redis is down
    probe_interval: Seconds = Field(DEFAULT_PROBE_INTERVAL, gt=0, le=60)  # how often local mode asks Redis


class BatchingSettings(_Strict):
    max_wait: Seconds = 0.02  # how long the owner's buffer collects hotels for one supplier call
    max_batch: int = Field(50, ge=1)  # hotels per supplier call
    limit_wait: Seconds = 0.5  # how long a call may wait for a rate-limit slot before it is skipped
    forward_wait: Seconds = 0.002  # how long a non-owner collects misses for one forward


class NegativeCacheSettings(_Strict):
    """The Bloom negative cache (``negative_cache.NegativeCacheConfig``)."""

    capacity: int = Field(100_000, ge=1)  # expected insertions per supplier, TTL band and bucket
    target_fpr: float = Field(1e-4, gt=0, lt=0.5)  # of a lookup, however many insertions come
    shards: int = Field(DEFAULT_SHARDS, ge=1, le=1024)  # Redis keys per filter (no hot key)
    growth: int = Field(DEFAULT_GROWTH, ge=1, le=8)  # each new generation holds this many times more
    max_generations: int = Field(DEFAULT_MAX_GENERATIONS, ge=1, le=32)  # beyond: answers are not remembered

    @model_validator(mode="after")
    def _fits_redis(self) -> NegativeCacheSettings:
        try:
            self.config().plan()
        except ValueError as exc:
            raise ValueError(
                f"{exc}: the last generation must fit one Redis string; lower growth or max_generations"
            ) from exc
        return self

    def config(self, ttl_table: TtlTable | None = None, key_prefix: str = "bloom:neg:v2") -> NegativeCacheConfig:
        return NegativeCacheConfig(
            capacity=self.capacity,
            target_fpr=self.target_fpr,
            shards=self.shards,
            growth=self.growth,
            max_generations=self.max_generations,
            ttl_table=ttl_table or TtlTable.default(),
            key_prefix=key_prefix,
        )


class DirectorySettings(_Strict):
    """The hotel directory a city search resolves cities with (``app.search.directory``)."""

    file: Path = Field(description="the directory file (JSON), read once at startup")
    # A city search asks for at most this many of the city's hotels (the first in directory order).
    max_hotels: int = Field(100, ge=1, le=MAX_HOTELS_PER_SEARCH)


class SearchSettings(_Strict):
    node: str
    nodes: tuple[NodeSettings, ...] = Field(min_length=1)
    # The bearer token search nodes send each other on /internal/ routes (app/search/api.py).
    node_token: str = Field(min_length=16)
    health: HealthSettings = HealthSettings()
    redis: dict[str, Any]
    offer_store: dict[str, Any] = Field(default_factory=lambda: {"backend": "redis"})
    suppliers: tuple[SupplierSettings, ...] = Field(min_length=1)
    batching: BatchingSettings = BatchingSettings()
    redis_fallback: RedisFallbackSettings = RedisFallbackSettings()
    breaker: dict[str, Any] = Field(default_factory=dict)
    offer_ttl: tuple[dict[str, Any], ...] | None = None
    negative_cache: NegativeCacheSettings = NegativeCacheSettings()
    directory: DirectorySettings | None = None  # None: no city search (hotel ids only)
    supplier_timeout: Seconds = 2.0
    forward_timeout: Seconds = 3.0
    metrics_interval: Seconds = 5.0
    key_prefix: str = ""  # prefixes every Redis key (offers, breakers, limits, filters)

    @model_validator(mode="after")
    def _consistent(self) -> SearchSettings:
        names = [n.name for n in self.nodes]
        if len(set(names)) != len(names):
            raise ValueError(f"node names must be unique (got {names})")
        if self.node not in names:
            raise ValueError(f"node {self.node!r} is not among the configured nodes {names}")
        suppliers = [s.name for s in self.suppliers]
        if len(set(suppliers)) != len(suppliers):
            raise ValueError(f"supplier names must be unique (got {suppliers})")
        if "backend" not in self.offer_store:
            raise ValueError("offer_store needs a backend (e.g. {backend: redis})")
        RedisSettings.from_config(self.redis)  # fails with the unknown or missing setting
        BreakerPolicy.from_config(self.breaker)
        self.ttl_table()
        for name, contract in self.contracts().items():
            if contract.budget >= self.forward_timeout:
                raise ValueError(
                    f"supplier {name}: merge window {contract.max_wait:g}s + rate-limit wait {contract.limit_wait:g}s"
                    f" + timeout {contract.timeout:g}s = {contract.budget:g}s must be below forward_timeout"
                    f" {self.forward_timeout:g}s (a forward to the owner would time out before it answers)"
                )
        return self

    def contracts(self) -> dict[str, SupplierContract]:
        """How each supplier is called: its own settings over ``batching`` and ``supplier_timeout``."""
        try:
            return {s.name: s.contract(self.batching, self.supplier_timeout) for s in self.suppliers}
        except ValueError as exc:
            raise ValueError(f"batching: {exc}") from exc

    def ttl_table(self) -> TtlTable:
        return TtlTable.from_config(self.offer_ttl) if self.offer_ttl is not None else TtlTable.default()

    def redis_settings(self) -> RedisSettings:
        return RedisSettings.from_config(self.redis)

    def offer_store_options(self) -> tuple[str, dict[str, Any]]:
        """Backend name and its options; the Redis backend shares the search's Redis by default."""
        options = {k: v for k, v in self.offer_store.items() if k != "backend"}
        backend = str(self.offer_store["backend"])
        if backend == "redis" and not {"url", "sentinels"} & set(options):
            options = {**self.redis, **options}
            options.setdefault("prefix", self.key_prefix)
        return backend, options


# `redis` is a plain mapping in the model (``RedisSettings`` validates it): its variables are
# checked and typed against ``RedisSettings``, so a password stays a string.
SEARCH_ENV_SCHEMAS: dict[tuple[str, ...], Any] = {("redis",): RedisSettings}


def config_path(environ: Mapping[str, str] | None = None) -> Path | None:
    """Where the search settings are: ``$ROADIE_SEARCH_CONFIG`` or beside ``$ROADIE_APP_CONFIG``."""
    env = os.environ if environ is None else environ
    if env.get(SEARCH_CONFIG_ENV):
        return Path(env[SEARCH_CONFIG_ENV])
    if env.get(APP_CONFIG_ENV):
        return Path(env[APP_CONFIG_ENV]).parent / SEARCH_CONFIG_NAME
    return None


class SearchConfigError(Exception):
    """The search settings file is missing or invalid; the message names the setting."""


def load_settings(path: str | Path, environ: Mapping[str, str] | None = None) -> SearchSettings:
    """The settings of `path` with `ROADIE_SEARCH__*` variables of `environ` (default: the
    process environment) over them, as the app's settings take `ROADIE_APP__*`
    (``app.common.env_overlay``): on Kubernetes the Redis passwords come from a Secret
    (``ROADIE_SEARCH__REDIS__PASSWORD``, ``ROADIE_SEARCH__REDIS__SENTINEL_PASSWORD``)."""
    source = Path(path)
    try:
        data = yaml.safe_load(source.read_text()) or {}
        given = env_overlay.settings_from_env(
            SearchSettings, SEARCH_ENV_PREFIX, os.environ if environ is None else environ, SEARCH_ENV_SCHEMAS
        )
        return SearchSettings.model_validate(env_overlay.apply(data, given))
    except OSError as exc:
        raise SearchConfigError(f"cannot read search settings {source}: {exc}") from exc
    except (yaml.YAMLError, ValidationError, ValueError) as exc:
        raise SearchConfigError(f"invalid search settings {source}: {exc}") from exc


def load_directory(settings: SearchSettings) -> HotelDirectory | None:
    """The hotel directory the settings name (None when they name none: no city search). Its
    supplier catalogues must be those of the configured suppliers, all of them or none."""
    if settings.directory is None:
        return None
    try:
        found = FileDirectory(settings.directory.file)
    except DirectoryError as exc:
        raise SearchConfigError(f"search settings: directory.file: {exc}") from exc
    configured = {s.name for s in settings.suppliers}
    catalogued = set(found.suppliers())
    if catalogued and catalogued != configured:
        raise SearchConfigError(
            f"search settings: directory.file {settings.directory.file}: its supplier catalogues"
            f" {sorted(catalogued)} must be the configured suppliers {sorted(configured)}"
            f" (missing: {sorted(configured - catalogued)}, unknown: {sorted(catalogued - configured)})"
        )
    return found


class CitySearchUnavailable(Exception):
    """A city search on a node without a hotel directory."""


class OwnerUnreachable(ConnectionError):
    """The owning node refused the connection (it is down): route to the next one."""


class OwnerTimedOut(OwnerUnreachable):
    """The owning node took the forward but did not answer in time: route to the next one."""


@dataclass(slots=True)
class RoutingStats:
    local_misses: int = 0  # misses this node fetched itself (it owned them)
    forwarded_out: int = 0  # forward calls to an owner
    forwarded_in: int = 0  # forward calls served for other nodes
    reroutes: int = 0  # misses sent to the next node because the owner was unreachable or timed out
    timeouts: int = 0  # of those, forwards the owner did not answer in time


_METRICS: dict[int, tuple[SearchMetrics, Gauge]] = {}


def _metrics_for(registry: CollectorRegistry) -> tuple[SearchMetrics, Gauge]:
    """One set of search metrics per registry (a process may build the runtime more than once)."""
    if id(registry) not in _METRICS:
        backend = Gauge("search_offer_store_backend", "1 for the active offer store backend", ["backend"],
                        registry=registry)  # fmt: skip
        _METRICS[id(registry)] = (SearchMetrics(registry), backend)
    return _METRICS[id(registry)]


@dataclass
class SearchRuntime:
    """Everything one search node runs, built by ``build`` and driven by ``start``/``stop``."""

    settings: SearchSettings
    redis: Any
    store: OfferStore
    negative: BloomNegativeCache
    limiter: RedisRateLimiter
    breakers: Mapping[str, RedisBreaker | FallbackBreaker]
    looks: LookToBookTracker
    suppliers: SupplierClient
    fetcher: SupplierFetcher
    membership: Membership
    supplier_http: httpx.AsyncClient
    peer_http: httpx.AsyncClient
    metrics: SearchMetrics | None = None
    directory: HotelDirectory | None = None
    health: RedisHealth | None = None  # None: no local mode (a Redis outage fails supplier calls)
    routing: RoutingStats = field(default_factory=RoutingStats)
    clock: Callable[[], float] = time.time  # what "now" is for the offers' ages
    started_at: float = field(default_factory=time.time)
    _forwarder: Coalescer[tuple[str, BatchKey], str, HotelAnswer] | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        settings: SearchSettings,
        registry: CollectorRegistry | None = None,
        *,
        clock: Callable[[], float] | None = None,
        redis: Any = None,
        store: OfferStore | None = None,
        supplier: Supplier | None = None,
        negative: BloomNegativeCache | None = None,
        peer_http: httpx.AsyncClient | None = None,
    ) -> SearchRuntime:
        """The node the settings describe. The keyword arguments replace what it would connect to
        or read time from (the benchmark's virtual-time replay; None: the real thing): ``clock``
        for every component (wall clock; the rate limiter's monotonic one), ``redis``, the offer
        ``store``, the ``supplier`` calls, the ``negative`` cache and the HTTP client to peers."""
        prefix = settings.key_prefix
        directory = load_directory(settings)  # first: a bad file fails before any connection is made
        clocks = {} if clock is None else {"clock": clock}
        redis = connect(settings.redis_settings()) if redis is None else redis
        backend, options = settings.offer_store_options()
        store = create_offer_store(backend, options) if store is None else store
        ttl = settings.ttl_table()
        if negative is None:
            negative = BloomNegativeCache(redis, settings.negative_cache.config(ttl, f"{prefix}bloom:neg:v2"), **clocks)
        limits = {
            s.name: SupplierLimit(s.rate_limit.calls, s.rate_limit.per, s.rate_limit.safety, s.rate_limit.safety_ratio)
            for s in settings.suppliers
            if s.rate_limit is not None
        }
        nodes = [Node(n.name, n.url.rstrip("/"), n.weight) for n in settings.nodes]
        fallback = settings.redis_fallback
        health = RedisHealth(probe_interval=fallback.probe_interval, **clocks) if fallback.enabled else None
        limiter = RedisRateLimiter(
            redis, limits, prefix=f"{prefix}ratelimit:v1", health=health, node=settings.node, nodes=nodes, **clocks
        )
        policy = BreakerPolicy.from_config(settings.breaker)
        shared = {
            s.name: RedisBreaker(redis, s.name, policy, prefix=f"{prefix}breaker:v1", **clocks)
            for s in settings.suppliers
        }
        breakers = shared if health is None else fallback_breakers(shared, health, **clocks)
        looks = LookToBookTracker(redis, prefix=f"{prefix}l2b:v1", **clocks)
        contracts = settings.contracts()
        caps = {name: c.look_to_book for name, c in contracts.items() if c.look_to_book is not None}
        supplier_http = httpx.AsyncClient(limits=httpx.Limits(max_connections=200, max_keepalive_connections=50))
        if peer_http is None:
            peer_http = httpx.AsyncClient(limits=httpx.Limits(max_connections=200, max_keepalive_connections=50))
        suppliers = SupplierClient(
            supplier_http,
            {s.name: s.url.rstrip("/") for s in settings.suppliers},
            timeout=settings.supplier_timeout,
            timeouts={name: c.timeout for name, c in contracts.items()},
        )
        fetcher = SupplierFetcher(
            supplier=suppliers if supplier is None else supplier,
            breakers=breakers,
            limiter=limiter,
            store=store,
            negative=negative,
            ttl=ttl,
            looks=looks,
            hotel_codes=directory,
            max_wait=settings.batching.max_wait,
            max_batch=settings.batching.max_batch,
            limit_wait=settings.batching.limit_wait,
            contracts=contracts,
            look_guard=LookToBookGuard(looks, caps, **clocks) if caps else None,
        )
        membership = Membership(nodes, self_name=settings.node)
        metrics = None
        if registry is not None:
            metrics, backend_gauge = _metrics_for(registry)
            backend_gauge.labels(backend).set(1)
        runtime = cls(
            settings=settings,
            redis=redis,
            store=store,
            negative=negative,
            limiter=limiter,
            breakers=breakers,
            looks=looks,
            suppliers=suppliers,
            fetcher=fetcher,
            membership=membership,
            supplier_http=supplier_http,
            peer_http=peer_http,
            metrics=metrics,
            directory=directory,
            health=health,
            clock=time.time if clock is None else clock,
        )
        runtime._forwarder = Coalescer(
            runtime._forward, max_wait=settings.batching.forward_wait, max_batch=settings.batching.max_batch
        )
        return runtime

    @property
    def node(self) -> str:
        return self.settings.node

    @property
    def supplier_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.settings.suppliers)

    async def start(self) -> None:
        health = self.settings.health
        poller = HealthPoller(
            self.membership,
            self.peer_http,
            HealthCheckConfig(health.path, health.interval, health.timeout, health.fall, health.rise),
        )
        self._tasks.append(asyncio.create_task(_forever("health poller", poller.run), name="search-health"))
        if self.metrics is not None:
            self._tasks.append(asyncio.create_task(self._export_loop(), name="search-metrics"))
        log.info(
            "search on %s: offer store %s, %d suppliers, nodes %s",
            self.node,
            self.store.name,
            len(self.supplier_names),
            [n.name for n in self.membership.ring.nodes],
        )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.fetcher.coalescer.drain(), timeout=5)
        await self.supplier_http.aclose()
        await self.peer_http.aclose()
        await self.store.close()
        await self.redis.aclose()

    # --- searching -------------------------------------------------------------------------

    async def search(self, request: SearchRequest, suppliers: Sequence[str] | None = None) -> SearchResponse:
        """Search hotel ids, or a city's hotels (raises ``CitySearchUnavailable``, ``UnknownCity``)."""
        city = None
        if request.city is not None:
            if self.directory is None or self.settings.directory is None:
                raise CitySearchUnavailable(
                    "city search needs a hotel directory, and none is configured on this node "
                    "(search settings: directory); give hotel_ids"
                )
            found = self.directory.resolve(request.city, self.settings.directory.max_hotels)
            city = CitySearched(name=found.city, hotels_in_city=found.total, hotels_searched=len(found.hotel_ids))
            request = request.model_copy(update={"hotel_ids": found.hotel_ids, "city": None})
        service = SearchService(
            suppliers=tuple(suppliers) if suppliers else self.supplier_names,
            store=self.store,
            negative=self.negative,
            fetch=self.fetch,
            metrics=self.metrics,
            offers_hidden=self.offers_hidden,
            sellers=None if self.directory is None else self.directory.sellers,
            clock=self.clock,
        )
        response = await service.search(request)
        return response if city is None else response.model_copy(update={"city": city})

    def owner(self, supplier: str, checkin: date, nights: int) -> Node | None:
        return self.membership.owner(routing_key(supplier, checkin, nights))

    async def fetch(self, key: OfferKey) -> HotelAnswer:
        """A miss: fetched here if this node owns its routing key, else by the owner."""
        routing = routing_key(key.supplier, key.checkin, key.nights)
        tried: set[str] = set()
        while True:
            owner = self.membership.ring.owner(
                routing, lambda node: node.name not in tried and self.membership.is_healthy(node)
            )
            if owner is None or owner.name == self.node:
                self.routing.local_misses += 1
                return await self.fetcher.fetch(key)
            assert self._forwarder is not None
            try:
                return await self._forwarder.get((owner.name, key.batch), key.hotel_id)
            except OwnerUnreachable as exc:
                log.warning("search node %s did not answer, routing %s to the next node: %s", owner.name, routing, exc)
                if isinstance(exc, OwnerTimedOut):
                    self.routing.timeouts += 1  # slow, maybe not down: its health checks decide
                else:
                    self.membership.mark(owner.name, False)
                self.routing.reroutes += 1
                tried.add(owner.name)

    async def _forward(self, target: tuple[str, BatchKey], hotels: tuple[str, ...]) -> dict[str, HotelAnswer]:
        name, batch = target
        node = next(n for n in self.membership.ring.nodes if n.name == name)
        self.routing.forwarded_out += 1
        body = {
            "supplier": batch.supplier,
            "checkin": batch.checkin.isoformat(),
            "nights": batch.nights,
            "occupancy": batch.occupancy,
            "hotel_ids": list(hotels),
        }
        try:
            response = await self.peer_http.post(
                node.url + FORWARD_PATH,
                json=body,
                headers={FORWARDED_HEADER: self.node, "Authorization": f"Bearer {self.settings.node_token}"},
                timeout=self.settings.forward_timeout,
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as exc:
            raise OwnerUnreachable(f"{name}: {exc}") from exc
        except httpx.TimeoutException as exc:
            raise OwnerTimedOut(f"{name}: no answer within {self.settings.forward_timeout:g}s") from exc
        if response.status_code == httpx.codes.SERVICE_UNAVAILABLE:
            raise OwnerUnreachable(f"{name}: answered 503 ({response.text[:200]})")
        response.raise_for_status()
        data = response.json()
        return {hotel: HotelAnswer.model_validate(answer) for hotel, answer in data["answers"].items()}

    async def serve_forwarded(self, batch: BatchKey, hotels: Sequence[str]) -> dict[str, Any]:
        """Fetch a forwarded batch here (never forwarded again): answers and per-hotel errors."""
        self.routing.forwarded_in += 1
        keys = [OfferKey(batch.supplier, hotel, batch.checkin, batch.nights, batch.occupancy) for hotel in hotels]
        results = await asyncio.gather(*(self.fetcher.fetch(key) for key in keys), return_exceptions=True)
        answers: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for key, result in zip(keys, results, strict=True):
            if isinstance(result, HotelAnswer):
                answers[key.hotel_id] = result.model_dump(mode="json")
            elif isinstance(result, Exception):
                errors[key.hotel_id] = f"{type(result).__name__}: {result}"
            else:
                raise result
        return {"node": self.node, "answers": answers, "errors": errors}

    # --- booking ---------------------------------------------------------------------------

    async def book(self, supplier: str, hotel_id: str, offer_id: str, key: OfferKey | None = None) -> bool:
        """Book an offer (``booking.BookingService``): breaker, look-to-book, eviction if refused."""
        booking = BookingService(suppliers=self.suppliers, breakers=self.breakers, store=self.store, looks=self.looks)
        code = hotel_id if self.directory is None else self.directory.supplier_code(supplier, hotel_id)
        return await booking.book(supplier, hotel_id, offer_id, key, supplier_code=code)

    async def offers_hidden(self, suppliers: Sequence[str]) -> set[str]:
        """Suppliers whose offers must not be shown now (breaker tripped on booking failures);
        in local mode by the local breakers."""
        breakers = [self.breakers[name] for name in suppliers]
        if self.health is None or not self.health.local:
            try:
                states = await load_states(self.redis, breakers)
                return {name for name, state in zip(suppliers, states, strict=True) if hides_offers(state)}
            except REDIS_DOWN as exc:
                if self.health is None:
                    raise
                self.health.failed(exc)
        return {b.supplier for b in breakers if isinstance(b, FallbackBreaker) and hides_offers(b.local_state())}

    # --- operations ------------------------------------------------------------------------

    async def readiness(self) -> dict[str, str]:
        """Checks for the app's /readyz: values are "ok" or why not; a key names the offer store."""
        try:
            await self.redis.ping()
            redis = "ok"
        except Exception as exc:
            redis = f"failed: {type(exc).__name__}"
        return {"search_redis": redis, f"search_offer_store:{self.store.name}": "ok"}

    async def stats(self) -> dict[str, Any]:
        suppliers: dict[str, Any] = {}
        contracts = self.fetcher.contracts
        for name, breaker in self.breakers.items():
            snapshot = await breaker.snapshot()
            contract = contracts.get(name)
            try:
                l2b = await self.looks.read(
                    name, contract.look_to_book.days if contract and contract.look_to_book else 1
                )
            except REDIS_DOWN:
                l2b = None  # Redis is down: the cluster's counts are unknown
            suppliers[name] = {
                "breaker": {
                    "phase": snapshot.phase.value,
                    "level": snapshot.level,
                    "reason": snapshot.reason.value if snapshot.reason else None,
                    "open_until": snapshot.open_until,
                    "success_rate": snapshot.success_rate,
                    "success_rate_15m": snapshot.success_rate_15m,
                    "calls_15m": snapshot.calls_15m,
                },
                "rate_limit": _limit(self.limiter.limits.get(name)),
                "rate_limit_used": await self.limiter.used(name),
                "look_to_book": None
                if l2b is None
                else {"looks": l2b.looks, "hotels": l2b.hotels, "bookings": l2b.bookings, "ratio": l2b.ratio},
                "contract": None if contract is None else _contract(contract),
            }
        coalescer = self.fetcher.coalescer.stats
        return {
            "node": self.node,
            "offer_store": dict(self.store.describe()),
            "directory": None
            if self.directory is None or self.settings.directory is None
            else {**self.directory.describe(), "max_hotels": self.settings.directory.max_hotels},
            "negative_cache": dict(self.negative.describe()),
            "membership": {
                "nodes": [n.name for n in self.membership.ring.nodes],
                "healthy": [n.name for n in self.membership.healthy_nodes()],
            },
            "coalescer": {
                "requests": coalescer.requests,
                "shared": coalescer.shared,
                "batches": coalescer.batches,
                "items": coalescer.items,
                "full_flushes": coalescer.full_flushes,
            },
            "routing": {
                "local_misses": self.routing.local_misses,
                "forwarded_out": self.routing.forwarded_out,
                "forwarded_in": self.routing.forwarded_in,
                "reroutes": self.routing.reroutes,
                "timeouts": self.routing.timeouts,
            },
            "redis": {"mode": "shared", "fallback": "off"} if self.health is None else self.health.describe(),
            "suppliers": suppliers,
        }

    async def _export_loop(self) -> None:
        assert self.metrics is not None
        fill_read_at = -math.inf
        while True:
            try:
                for name, breaker in self.breakers.items():
                    self.metrics.export_breaker(await breaker.snapshot())
                    self.metrics.export_look_to_book(await self.looks.read(name))
                self.metrics.export_coalescer(self.fetcher.coalescer.stats)
                if time.monotonic() - fill_read_at >= NEGATIVE_FILL_INTERVAL:
                    fill_read_at = time.monotonic()
                    fills = await self.negative.fill(self.supplier_names)
                    self.metrics.export_negative_cache(fills, self.negative.config.target_fpr)
            except Exception as exc:  # metrics must never stop the node
                log.warning("search metrics export failed: %s", exc)
            await asyncio.sleep(self.settings.metrics_interval)


def _contract(contract: SupplierContract) -> dict[str, Any]:
    cap = contract.look_to_book
    return {
        "max_wait": contract.max_wait,
        "max_batch": contract.max_batch,
        "limit_wait": contract.limit_wait,
        "timeout": contract.timeout,
        "look_to_book": None
        if cap is None
        else {"max_ratio": cap.max_ratio, "throttle_from": cap.throttle_from, "days": cap.days},
    }


def _limit(limit: SupplierLimit | None) -> dict[str, float] | None:
    """The contract and the margin actually enforced (``safety``: seconds added to the window)."""
    return None if limit is None else {"calls": limit.calls, "per": limit.per, "safety": limit.margin}


async def _forever(what: str, run: Any) -> None:
    while True:
        try:
            await run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("%s failed, restarting it: %s", what, exc)
            await asyncio.sleep(1)


async def start(app_or_state: Any, settings: SearchSettings | str | Path | None = None) -> SearchRuntime | None:
    """Build and start the search and put it on ``app.state.search`` (or the state object given).

    ``settings``: the settings, a path to them, or None to find them (``config_path``). Without a
    settings file the search is off: ``state.search`` is None and the endpoints answer 503.
    """
    state = getattr(app_or_state, "state", app_or_state)
    if settings is None:
        path = config_path()
        if path is None or not path.is_file():
            log.warning("hotel search is off: no search settings at %s (set %s)", path, SEARCH_CONFIG_ENV)
            state.search = None
            state.search_off_reason = f"no search settings at {path}"
            return None
        settings = path
    if not isinstance(settings, SearchSettings):
        settings = load_settings(settings)
    runtime = SearchRuntime.build(settings, APP_REGISTRY)
    await runtime.start()
    state.search = runtime
    return runtime


async def stop(app_or_state: Any) -> None:
    state = getattr(app_or_state, "state", app_or_state)
    runtime: SearchRuntime | None = getattr(state, "search", None)
    if runtime is not None:
        await runtime.stop()
        state.search = None


def main(argv: list[str] | None = None) -> int:
    """``python -m app.search.wiring --check search.yml``: validate a settings file (Ansible uses it)."""
    parser = argparse.ArgumentParser(prog="python -m app.search.wiring")
    parser.add_argument("--check", required=True, help="search settings file to validate")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.check)
        directory = load_directory(settings)
    except SearchConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    backend, _ = settings.offer_store_options()
    cities = "no city search" if directory is None else f"{len(directory.cities())} cities"
    print(f"ok: node {settings.node}, {len(settings.suppliers)} suppliers, offer store {backend}, {cities}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
