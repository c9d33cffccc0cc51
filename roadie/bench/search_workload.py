"""The search workload the replay sends: users' sessions over a slice of the hotel world.

Every number here is written down, with its source, in docs/search-workload.md; change both.
The workload is a pure function of its ``WorkloadConfig`` (seeded): two runs replay the same
requests at the same virtual times.

- Hotels: the lab's 12 cities (``app.search.directory.LAB_CITIES``: a few big and many small),
  each at ``city_scale`` of its size (1,000 of the lab's 10,000 hotels by default). A city's
  share of sessions falls with its popularity rank (Zipf, ``city_zipf``); a hotel's share of its
  city's attention falls with its rank in the city (Zipf, ``hotel_zipf``).
- Suppliers: ``suppliers`` of them, coverage from a few large (the first sells ``coverage_max`` of
  all hotels) to many small (rank r sells ``coverage_max / r``, at least ``coverage_min``);
  every hotel has at least one. About half of the answers are "unavailable" (each supplier
  between 40 and 60 %).
- Stays: lead time from a mix (this week / month / season / months ahead), Friday and Saturday
  arrivals and holiday arrivals (New Year, the May holidays, summer) more likely; nights and
  occupancies from typical mixes, in canonical form.
- Sessions: a results page (``page_hotels`` of the city, drawn by popularity), then hotel pages
  (one hotel, every supplier that sells it), and sometimes a refined search (other dates, nights
  or guests) with hotel pages of its own. Sessions start as a Poisson process whose rate follows
  the day (``diurnal_trough`` of the peak at 04:00 UTC, the peak at 16:00 UTC).
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from app.search.cache_key import canonical_occupancy
from app.search.directory import LAB_CITIES, generate
from app.search.models import Occupancy, Room

# Lead time (days until check-in): (share, first day, last day).
LEAD_TIME_MIX = ((0.15, 0, 6), (0.35, 7, 30), (0.35, 31, 90), (0.15, 91, 300))
WEEKEND_WEIGHT = 2.0  # Friday and Saturday arrivals
HOLIDAY_WEIGHT = 3.0
# (month, first day, last day): New Year, the May holidays ("на майские"), the summer peak.
HOLIDAYS = ((12, 28, 31), (1, 1, 8), (5, 1, 10), (7, 15, 31), (8, 1, 15))
NIGHTS_MIX = {1: 0.16, 2: 0.22, 3: 0.18, 4: 0.1, 5: 0.08, 7: 0.18, 10: 0.04, 14: 0.04}
OCCUPANCY_MIX: tuple[tuple[float, tuple[tuple[int, tuple[int, ...]], ...]], ...] = (
    (0.58, ((2, ()),)),
    (0.2, ((1, ()),)),
    (0.1, ((2, (7,)),)),
    (0.06, ((2, (5, 10)),)),
    (0.06, ((2, ()), (2, ()))),
)
HOURLY = 3600.0
T = TypeVar("T")


class Kind(StrEnum):
    RESULTS = "results page"
    HOTEL = "hotel page"
    REFINED = "refined search"


@dataclass(frozen=True, slots=True)
class WorkloadConfig:
    seed: int = 16
    sessions_per_second: float = 1.0  # at the daily peak
    start: datetime = datetime(2031, 4, 24, 8, tzinfo=UTC)  # a Thursday, a week before the May holidays
    hours: float = 17.0  # 08:00 to 01:00: twelve hours of warm-up, then the evening and midnight
    city_scale: float = 0.1  # the slice: each of the lab's cities at this share of its hotels
    suppliers: int = 24
    coverage_max: float = 0.6
    coverage_min: float = 0.02
    city_zipf: float = 1.0
    hotel_zipf: float = 1.0
    page_hotels: int = 20
    hotel_pages_mean: float = 1.5
    refine_share: float = 0.3
    think_seconds: float = 40.0  # mean pause between a session's requests
    diurnal_trough: float = 0.3


@dataclass(frozen=True, slots=True)
class Stay:
    checkin: date
    nights: int
    occupancy: Occupancy

    @property
    def canonical(self) -> str:
        return canonical_occupancy(self.occupancy)


@dataclass(frozen=True, slots=True)
class Request:
    at: float  # virtual unix time
    kind: Kind
    hotels: tuple[str, ...]
    stay: Stay


class World:
    """Cities, hotels, who sells what, and how often each is asked for (all seeded)."""

    def __init__(self, config: WorkloadConfig) -> None:
        self.config = config
        content = generate([(city, max(1, round(size * config.city_scale))) for city, size in LAB_CITIES])
        self.cities = [(city.name, city.hotels) for city in content.cities]
        self.city_weights = list(itertools.accumulate(1 / (r + 1) ** config.city_zipf for r in range(len(self.cities))))
        self.hotel_weights = {  # cumulative, by rank in the city
            name: list(itertools.accumulate(1 / (r + 1) ** config.hotel_zipf for r in range(len(hotels))))
            for name, hotels in self.cities
        }
        self.supplier_names = tuple(f"s{r + 1:02d}" for r in range(config.suppliers))
        self.coverage = {
            name: max(config.coverage_min, config.coverage_max / (r + 1)) for r, name in enumerate(self.supplier_names)
        }
        self.sells = {hotel: self._sellers(hotel) for _, hotels in self.cities for hotel in hotels}
        self.unavailable_share = {
            name: 0.4 + 0.2 * _unit(config.seed, "unavailable", name) for name in self.supplier_names
        }

    def _sellers(self, hotel: str) -> tuple[str, ...]:
        sellers = tuple(s for s in self.supplier_names if _unit(self.config.seed, s, hotel) < self.coverage[s])
        return sellers or (self.supplier_names[0],)

    @property
    def hotels(self) -> int:
        return len(self.sells)


def _unit(seed: int, *parts: str) -> float:
    """A seeded uniform number in [0, 1) for ``parts`` (stable across processes, unlike hash())."""
    return zlib.crc32("|".join((str(seed), *parts)).encode()) / 0x100000000


class Workload:
    """The requests of ``config``'s sessions, in time order."""

    def __init__(self, config: WorkloadConfig, world: World | None = None) -> None:
        self.config = config
        self.world = world or World(config)
        self._random = random.Random(config.seed)
        self._days, self._day_weights = self._lead_times(config.start.date())
        self._nights = list(NIGHTS_MIX)
        self._night_weights = list(itertools.accumulate(NIGHTS_MIX.values()))
        self._occupancies = [
            Occupancy(rooms=tuple(Room(adults=a, children_ages=ages) for a, ages in rooms))
            for _, rooms in OCCUPANCY_MIX
        ]
        self._occupancy_weights = list(itertools.accumulate(share for share, _ in OCCUPANCY_MIX))

    def requests(self) -> list[Request]:
        events = [request for start in self._session_starts() for request in self._session(start)]
        end = self.config.start.timestamp() + self.config.hours * HOURLY
        return sorted((r for r in events if r.at < end), key=lambda r: r.at)

    def rate(self, at: float) -> float:
        """Sessions per second at ``at``: the peak at 16:00 UTC, ``diurnal_trough`` of it at 04:00."""
        hour = (at % 86_400) / HOURLY
        low = self.config.diurnal_trough
        return self.config.sessions_per_second * (low + (1 - low) * (1 - math.cos(2 * math.pi * (hour - 4) / 24)) / 2)

    def _session_starts(self) -> Iterator[float]:
        """A Poisson process of rate ``rate(t)``, by thinning one of the peak rate."""
        at = self.config.start.timestamp()
        end = at + self.config.hours * HOURLY
        peak = self.config.sessions_per_second
        while True:
            at += self._random.expovariate(peak)
            if at >= end:
                return
            if self._random.random() * peak < self.rate(at):
                yield at

    def _session(self, start: float) -> list[Request]:
        city, hotels = self._city()
        stay = self._stay(start)
        requests = self._page_and_hotels(start, Kind.RESULTS, city, hotels, stay)
        if self._random.random() < self.config.refine_share:
            refined = self._refine(stay, start)
            requests += self._page_and_hotels(requests[-1].at + self._think(), Kind.REFINED, city, hotels, refined)
        return requests

    def _page_and_hotels(self, at: float, kind: Kind, city: str, hotels: Sequence[str], stay: Stay) -> list[Request]:
        page = self._page(city, hotels)
        requests = [Request(at, kind, page, stay)]
        pages = self._geometric(self.config.hotel_pages_mean)
        weights = list(itertools.accumulate(1 / (r + 1) for r in range(len(page))))  # the top of the page first
        for _ in range(pages):
            at += self._think()
            hotel = page[bisect.bisect_left(weights, self._random.random() * weights[-1])]
            requests.append(Request(at, Kind.HOTEL, (hotel,), stay))
        return requests

    def _city(self) -> tuple[str, tuple[str, ...]]:
        weights = self.world.city_weights
        index = bisect.bisect_left(weights, self._random.random() * weights[-1])
        return self.world.cities[index]

    def _page(self, city: str, hotels: Sequence[str]) -> tuple[str, ...]:
        """``page_hotels`` distinct hotels of the city, drawn by popularity (repeats drawn again)."""
        size = min(self.config.page_hotels, len(hotels))
        cumulative = self.world.hotel_weights[city]
        page: dict[str, None] = {}
        while len(page) < size:
            page[hotels[bisect.bisect_left(cumulative, self._random.random() * cumulative[-1])]] = None
        return tuple(page)

    def _stay(self, at: float) -> Stay:
        today = datetime.fromtimestamp(at, UTC).date()
        lead = self._days[bisect.bisect_left(self._day_weights, self._random.random() * self._day_weights[-1])]
        return Stay(today + timedelta(days=lead), self._pick(self._nights, self._night_weights), self._occupancy())

    def _refine(self, stay: Stay, at: float) -> Stay:
        """Other dates (a shift of 1-3 days), other nights or other guests."""
        choice = self._random.random()
        today = datetime.fromtimestamp(at, UTC).date()
        if choice < 0.5:
            shifted = stay.checkin + timedelta(days=self._random.choice((-3, -2, -1, 1, 2, 3)))
            return Stay(max(today, shifted), stay.nights, stay.occupancy)
        if choice < 0.8:
            return Stay(stay.checkin, self._pick(self._nights, self._night_weights), stay.occupancy)
        return Stay(stay.checkin, stay.nights, self._occupancy())

    def _occupancy(self) -> Occupancy:
        return self._pick(self._occupancies, self._occupancy_weights)

    def _pick(self, items: Sequence[T], cumulative: Sequence[float]) -> T:
        return items[bisect.bisect_left(cumulative, self._random.random() * cumulative[-1])]

    def _think(self) -> float:
        return self._random.expovariate(1 / self.config.think_seconds)

    def _geometric(self, mean: float) -> int:
        """0, 1, 2, ... with the given mean."""
        p = 1 / (1 + mean)
        return int(math.log(1 - self._random.random()) / math.log(1 - p))

    def _lead_times(self, today: date) -> tuple[list[int], list[float]]:
        """Days ahead (relative to the first day; later days shift the mix by their own date) and
        cumulative weights: the mix's share spread over its days, weekends and holidays heavier."""
        days, weights = [], []
        for share, first, last in LEAD_TIME_MIX:
            span = range(first, last + 1)
            raw = [self._day_weight(today + timedelta(days=d)) for d in span]
            total = sum(raw)
            days += list(span)
            weights += [share * w / total for w in raw]
        return days, list(itertools.accumulate(weights))

    @staticmethod
    def _day_weight(day: date) -> float:
        weight = WEEKEND_WEIGHT if day.weekday() in (4, 5) else 1.0
        if any(day.month == month and first <= day.day <= last for month, first, last in HOLIDAYS):
            weight *= HOLIDAY_WEIGHT
        return weight
