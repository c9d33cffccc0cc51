"""Stand-ins for what the search replay cannot run in one process: time, Redis, the offer store's
database, the suppliers and the network between search nodes. Everything else is the real search.

- ``VirtualClock`` + ``virtual_loop``: an asyncio event loop whose clock is virtual. When no
  callback is ready the loop jumps the clock to its next timer instead of sleeping, so the real
  coalescer windows (``call_later``), rate-limit waits (``asyncio.sleep``) and supplier latency
  take virtual time and no wall time. There is no I/O in the replay: a loop that would wait for
  I/O with nothing scheduled is a deadlock and raises.
- ``StandInRedis``: the Redis commands the search uses (strings, counters, bitmaps through
  ``BITFIELD``, hashes, expiry on the virtual clock) and Python models of its two Lua scripts
  (the rate limiter's sliding log, the breaker's compare-and-set). The Lua itself runs against
  real Redis in the lab tests; here what counts is the search's logic.
- ``StandInOfferStore``: the offer store (Aerospike in production) as a dict with TTLs on the
  virtual clock.
- ``StandInSupplier``: answers like a supplier: a hotel it sells is available or not for a stay
  and occupancy by a seeded hash (``Availability``), after a latency; it counts every call.
- ``peer_transport``: the HTTP hop between search nodes, delivered in process to the owner's
  ``SearchRuntime.serve_forwarded`` (the JSON encoding and decoding of the real hop still run).
"""

from __future__ import annotations

import asyncio
import selectors
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import httpx

from app.search.breaker_redis import CAS_SCRIPT
from app.search.cache_key import BatchKey, OfferKey, canonical_occupancy
from app.search.models import HotelAnswer, Occupancy, Offer
from app.search.offer_store import OfferRecord, OfferStore
from app.search.rate_limit import SLIDING_LOG_SCRIPT

T = TypeVar("T")


class VirtualClock:
    """Seconds since the epoch, moved only by the loop (``advance``) or by the replay (``set``)."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


class VirtualTimeDeadlock(RuntimeError):
    """The loop would wait for I/O with nothing scheduled: in the replay nothing could wake it."""


class _VirtualSelector(selectors.BaseSelector):
    """A selector that never has I/O ready and advances the virtual clock by the loop's timeout."""

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock
        self._keys: dict[Any, selectors.SelectorKey] = {}

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        key = selectors.SelectorKey(fileobj, fileobj if isinstance(fileobj, int) else fileobj.fileno(), events, data)
        self._keys[fileobj] = key
        return key

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._keys.pop(fileobj)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:
            raise VirtualTimeDeadlock("the replay's event loop has nothing scheduled and waits for I/O")
        self._clock.advance(timeout)
        return []

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._keys


class _VirtualLoop(asyncio.SelectorEventLoop):
    def __init__(self, clock: VirtualClock) -> None:
        super().__init__(_VirtualSelector(clock))
        self._virtual = clock
        self._clock_resolution = 1e-5  # above a float's step at unix times, or a timer is never due

    def time(self) -> float:
        return self._virtual.now


def run_virtual(clock: VirtualClock, main: Callable[[], Awaitable[T]]) -> T:
    """Run ``main()`` to completion on a loop that keeps ``clock``'s virtual time."""
    loop = _VirtualLoop(clock)
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


# --- Redis -----------------------------------------------------------------------------------


class StandInRedis:
    """The Redis commands of ``app.search`` on dicts, with expiry on ``clock``."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.strings: dict[str, bytearray] = {}
        self.hashes: dict[str, dict[str, int]] = {}
        self.zsets: dict[str, dict[str, int]] = {}
        self.expire_at: dict[str, float] = {}
        self.commands = 0

    def register_script(self, script: str) -> Any:
        if script == SLIDING_LOG_SCRIPT:
            return _SlidingLog(self)
        if script == CAS_SCRIPT:
            return _CompareAndSet(self)
        raise NotImplementedError("the Redis stand-in models the rate limiter's and the breaker's scripts only")

    def pipeline(self, transaction: bool = False) -> _Pipeline:
        return _Pipeline(self)

    async def get(self, key: str) -> bytes | None:
        return self._get(key)

    async def mget(self, keys: Sequence[str]) -> list[bytes | None]:
        return [self._get(key) for key in keys]

    async def set(self, key: str, value: Any, nx: bool = False, ex: int | None = None) -> bool | None:
        self._expire_if_due(key)
        if nx and key in self.strings:
            return None
        self.strings[key] = bytearray(value if isinstance(value, bytes) else str(value).encode())
        self.expire_at.pop(key, None)
        if ex is not None:
            self.expire_at[key] = self.clock() + ex
        return True

    async def incr(self, key: str) -> int:
        return self._incrby(key, 1)

    async def delete(self, *keys: str) -> int:
        return sum(self._delete(key) for key in keys)

    def live_strings(self, prefix: str) -> Iterable[tuple[str, bytearray]]:
        """Unexpired strings under ``prefix`` (for the memory figures; no command is counted)."""
        for key in [k for k in self.strings if k.startswith(prefix)]:
            self._expire_if_due(key)
            if key in self.strings:
                yield key, self.strings[key]

    def _expire_if_due(self, key: str) -> None:
        when = self.expire_at.get(key)
        if when is not None and when <= self.clock():
            self._delete(key)

    def _delete(self, key: str) -> int:
        self.expire_at.pop(key, None)
        found = [store.pop(key, None) is not None for store in (self.strings, self.hashes, self.zsets)]
        return int(any(found))

    def _get(self, key: str) -> bytes | None:
        self.commands += 1
        self._expire_if_due(key)
        value = self.strings.get(key)
        return None if value is None else bytes(value)

    def _incrby(self, key: str, amount: int) -> int:
        self.commands += 1
        self._expire_if_due(key)
        value = int(self.strings.get(key, b"0")) + amount
        self.strings[key] = bytearray(str(value).encode())
        return value

    def _expire(self, key: str, when: float) -> int:
        self.commands += 1
        if key not in self.strings and key not in self.hashes and key not in self.zsets:
            return 0
        self.expire_at[key] = when
        return 1

    def _hincrby(self, key: str, name: str, amount: int) -> int:
        self.commands += 1
        self._expire_if_due(key)
        fields = self.hashes.setdefault(key, {})
        fields[name] = fields.get(name, 0) + amount
        return fields[name]

    def _hgetall(self, key: str) -> dict[bytes, bytes]:
        self.commands += 1
        self._expire_if_due(key)
        return {name.encode(): str(value).encode() for name, value in self.hashes.get(key, {}).items()}

    def _bitfield(self, key: str, args: Sequence[Any], write: bool) -> list[int]:
        self.commands += 1
        self._expire_if_due(key)
        bits = self.strings.setdefault(key, bytearray()) if write else self.strings.get(key, bytearray())
        replies = []
        step = 4 if write else 3  # SET u1 <pos> 1 | GET u1 <pos>
        for i in range(0, len(args), step):
            pos = int(args[i + 2])
            byte, mask = pos >> 3, 0x80 >> (pos & 7)
            replies.append(int(byte < len(bits) and bool(bits[byte] & mask)))
            if write:
                if len(bits) <= byte:
                    bits.extend(bytes(byte + 1 - len(bits)))  # Redis grows a string to the highest bit set
                bits[byte] |= mask
        return replies


class _Pipeline:
    def __init__(self, redis: StandInRedis) -> None:
        self._redis = redis
        self._queued: list[Callable[[], Any]] = []

    def incrby(self, key: str, amount: int) -> None:
        self._queued.append(lambda: self._redis._incrby(key, amount))

    def expireat(self, key: str, when: int) -> None:
        self._queued.append(lambda: self._redis._expire(key, when))

    def expire(self, key: str, seconds: int) -> None:
        self._queued.append(lambda: self._redis._expire(key, self._redis.clock() + seconds))

    def hincrby(self, key: str, name: str, amount: int) -> None:
        self._queued.append(lambda: self._redis._hincrby(key, name, amount))

    def hgetall(self, key: str) -> None:
        self._queued.append(lambda: self._redis._hgetall(key))

    def get(self, key: str) -> None:
        self._queued.append(lambda: self._redis._get(key))

    def execute_command(self, name: str, *args: Any) -> None:
        if name not in ("BITFIELD", "BITFIELD_RO"):
            raise NotImplementedError(f"the Redis stand-in has no {name} in pipelines")
        self._queued.append(lambda: self._redis._bitfield(args[0], args[1:], write=name == "BITFIELD"))

    async def execute(self) -> list[Any]:
        replies = [command() for command in self._queued]
        self._queued = []
        return replies


class _SlidingLog:
    """``rate_limit.SLIDING_LOG_SCRIPT``: KEYS[1] the log; ARGV limit, window (µs), member, cost;
    returns {allowed, retry after (µs), used}. ``TIME`` is the virtual clock."""

    def __init__(self, redis: StandInRedis) -> None:
        self._redis = redis

    async def __call__(self, keys: list[str], args: list[Any], client: Any = None) -> list[int]:
        if client is not None:
            raise NotImplementedError("the stand-in runs the sliding log outside pipelines (wait_replicas = 0)")
        redis = self._redis
        redis.commands += 1
        now = int(redis.clock() * 1_000_000)
        limit, window, member, cost = int(args[0]), int(args[1]), str(args[2]), int(args[3])
        log = redis.zsets.setdefault(keys[0], {})
        for stale in [m for m, score in log.items() if score <= now - window]:
            del log[stale]
        used = len(log)
        if used + cost <= limit:
            for i in range(1, cost + 1):
                log[f"{member}:{i}"] = now
            return [1, 0, used + cost]
        oldest = sorted(log.values())[used + cost - limit - 1]
        return [0, oldest + window - now, used]


class _CompareAndSet:
    """``breaker_redis.CAS_SCRIPT``: set KEYS[1] to ARGV[2] if it still holds ARGV[1]."""

    def __init__(self, redis: StandInRedis) -> None:
        self._redis = redis

    async def __call__(self, keys: list[str], args: list[Any], client: Any = None) -> int:
        current = self._redis._get(keys[0]) or b""
        expected = args[0] if isinstance(args[0], bytes) else str(args[0]).encode()
        if current != expected:
            return 0
        self._redis.strings[keys[0]] = bytearray(str(args[1]).encode())
        return 1


# --- offer store -----------------------------------------------------------------------------


class StandInOfferStore(OfferStore):
    """The offer store's database (Aerospike in production) as a dict, TTLs on the virtual clock."""

    name = "stand-in"

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._records: dict[OfferKey, tuple[float, HotelAnswer]] = {}

    @classmethod
    def from_config(cls, options: Mapping[str, Any]) -> StandInOfferStore:
        return cls(options["clock"])

    async def get_many(self, keys: Sequence[OfferKey]) -> list[HotelAnswer | None]:
        now = self._clock()
        found: list[HotelAnswer | None] = []
        for key in keys:
            record = self._records.get(key)
            if record is not None and record[0] <= now:
                del self._records[key]
                record = None
            found.append(None if record is None else record[1])
        return found

    async def put_many(self, records: Sequence[OfferRecord]) -> None:
        now = self._clock()
        for record in records:
            self._records[record.key] = (now + record.ttl, record.answer)

    async def evict(self, keys: Sequence[OfferKey]) -> None:
        for key in keys:
            self._records.pop(key, None)


# --- suppliers -------------------------------------------------------------------------------


class Availability:
    """Whether a supplier offers a hotel for a stay and occupancy: a seeded hash, the same answer
    every time it is asked (``unavailable_share`` of keys say no). Also the oracle the replay
    checks hidden offers against."""

    def __init__(self, seed: int, unavailable_share: Mapping[str, float]) -> None:
        self._seed = seed
        self._share = dict(unavailable_share)

    def available(self, supplier: str, hotel: str, checkin: date, nights: int, occupancy: str) -> bool:
        text = f"{self._seed}|{supplier}|{hotel}|{checkin.toordinal()}|{nights}|{occupancy}"
        return zlib.crc32(text.encode()) / 0x100000000 >= self._share[supplier]


@dataclass
class StandInSupplier:
    """Every supplier of the replay behind ``fetcher.Supplier``'s interface: one call per
    ``search``, answered after ``latency`` + ``per_hotel`` seconds of virtual time."""

    clock: Callable[[], float]
    availability: Availability
    latency: float = 0.3
    per_hotel: float = 0.002
    counting: bool = False
    calls: Counter[str] = field(default_factory=Counter)
    hotels: Counter[str] = field(default_factory=Counter)

    async def search(
        self, supplier: str, hotel_ids: Sequence[str], checkin: date, nights: int, occupancy: Occupancy
    ) -> dict[str, HotelAnswer]:
        if self.counting:
            self.calls[supplier] += 1
            self.hotels[supplier] += len(hotel_ids)
        await asyncio.sleep(self.latency + self.per_hotel * len(hotel_ids))
        canonical = canonical_occupancy(occupancy)
        fetched_at = datetime.fromtimestamp(self.clock(), UTC)
        return {
            hotel: HotelAnswer(
                supplier=supplier,
                hotel_id=hotel,
                fetched_at=fetched_at,
                offers=(_offer(supplier, hotel),)
                if self.availability.available(supplier, hotel, checkin, nights, canonical)
                else (),
            )
            for hotel in hotel_ids
        }


def _offer(supplier: str, hotel: str) -> Offer:
    price = 5_000 + zlib.crc32(f"{supplier}|{hotel}".encode()) % 50_000
    return Offer.model_construct(offer_id=f"{supplier}-{hotel}", room="DBL", board="BB", price_minor=price,
                                 currency="EUR")  # fmt: skip


# --- the network between search nodes --------------------------------------------------------


def peer_transport(serve: Callable[[str, Any, Sequence[str]], Awaitable[dict[str, Any]]]) -> httpx.MockTransport:
    """The forward hop (``/internal/v1/search/fetch``) delivered to ``serve(node url, batch, hotels)``
    (node urls have no port)."""

    async def handle(request: httpx.Request) -> httpx.Response:
        body = httpx.Response(200, content=request.content).json()
        batch = BatchKey(body["supplier"], date.fromisoformat(body["checkin"]), body["nights"], body["occupancy"])
        target = f"{request.url.scheme}://{request.url.host}"
        return httpx.Response(200, json=await serve(target, batch, body["hotel_ids"]))

    return httpx.MockTransport(handle)
