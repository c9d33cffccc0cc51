"""The hotel directory: which hotels are in which city, and which suppliers sell each hotel under
which of their own codes (static content, like an OTA's content database). A city search asks it
for the city's hotel ids and then runs the same search as ids; every search asks a hotel only of
the suppliers that sell it, under the supplier's code.

Interface: ``HotelDirectory`` (``cities``, ``hotels_in``, ``sellers``, ``supplier_code``,
``describe``). Backend: ``FileDirectory``, a JSON file whose path is in the search settings
(``directory.file``). The Ansible role ``app_search`` renders it from role variables
(``app_search_directory_cities``, ``app_search_directory_suppliers``); production installs its
content export there instead. Format::

    {"version": 2,
     "cities": [{"name": "antalya", "hotels": ["bh000000", "bh000001", ...]},
                {"name": "kas", "hotels": ["bh009900", ...]}],
     "suppliers": [{"name": "fast", "coverage": {"code_prefix": "FA", "every": 1}},
                   {"name": "bedbank", "hotel_codes": {"bh000042": "BB-77", ...}}]}

City names are ids (the pattern of hotel ids: letters, digits, ``_.-``) and are matched without
regard to case; a hotel is in exactly one city, and a city has at least one hotel.

Suppliers (the hotel -> supplier mapping): each supplier's catalogue is either explicit
(``hotel_codes``: our hotel id -> the supplier's code, as a content export or a mapping service
gives it) or a rule (``coverage``: the supplier sells the hotel at position ``n`` of the directory,
counted from 0 over all cities in order, when ``n % every == offset``, under the code
``<code_prefix><n:06d>``; the lab's simulated suppliers use it, ``Coverage``). A supplier's codes
are unique. A hotel of the directory is asked only of the suppliers whose catalogue has it; a
hotel the directory does not list (a search by ids outside it) is asked of every supplier under
its own id, as is every hotel when the directory lists no suppliers (version 1 files).

``generate(cities, suppliers=...)`` builds the same structure from (city, number of hotels)
pairs, numbering hotels ``<prefix><n:06d>`` in the order given: the lab's 10,000 hotels
``bh000000..bh009999`` (the ids ``roadie bench search`` uses) are spread over ``LAB_CITIES`` and
sold by ``LAB_CATALOGUES`` (a big wholesaler sells all, the small suppliers a few). The role's
defaults list the same cities, the lab inventory's simulated suppliers the same catalogues, and a
unit test checks that what the role renders equals ``generate``.

``python -m app.search.directory --check hotels.json`` validates a file (the role uses it).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.search.models import ID_PATTERN

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)  # version 1: no suppliers (every supplier sells every hotel)
HOTEL_ID_DIGITS = 6
SUPPLIER_CODE_PATTERN = r"^[^\s]{1,100}$"  # the supplier's own code: sent to it, never in a cache key
# The lab's directory: 10,000 hotels in 12 cities, a few big ones and many small ones.
LAB_CITIES: tuple[tuple[str, int], ...] = (
    ("antalya", 2600),
    ("istanbul", 2000),
    ("barcelona", 1400),
    ("paris", 1100),
    ("rome", 800),
    ("lisbon", 600),
    ("bodrum", 450),
    ("dubrovnik", 350),
    ("kas", 250),
    ("hvar", 200),
    ("sintra", 150),
    ("cesme", 100),
)
LAB_HOTEL_PREFIX = "bh"
# Who sells the lab's hotels (the lab inventory's simulated suppliers carry the same catalogues):
# a big wholesaler sells all of them, the others fewer, the hotel's own server a tenth.
LAB_CATALOGUES: tuple[dict[str, Any], ...] = (
    {"name": "fast", "coverage": {"code_prefix": "FA", "every": 1, "offset": 0}},
    {"name": "slow", "coverage": {"code_prefix": "SL-", "every": 3, "offset": 0}},
    {"name": "limited", "coverage": {"code_prefix": "LT", "every": 10, "offset": 3}},
    {"name": "flaky", "coverage": {"code_prefix": "FL.", "every": 2, "offset": 1}},
)

_ID = re.compile(ID_PATTERN)


class DirectoryError(Exception):
    """The directory file is missing or invalid; the message names the file and the problem."""


class UnknownCity(LookupError):
    """No such city in the directory; the message names it and some cities that are."""

    def __init__(self, city: str, known: Sequence[str]) -> None:
        self.city = city
        sample = ", ".join(known[:10]) + (f" ... ({len(known)} cities)" if len(known) > 10 else "")
        super().__init__(f"unknown city {city!r}; the hotel directory has: {sample or 'no cities'}")


@dataclass(frozen=True, slots=True)
class CityHotels:
    """A city's hotels as a search uses them: the first ``limit`` of ``total``, in directory order."""

    city: str
    hotel_ids: tuple[str, ...]
    total: int

    @property
    def truncated(self) -> bool:
        return len(self.hotel_ids) < self.total


class HotelDirectory(ABC):
    """Which hotels are in which city."""

    name: str = "directory"

    @abstractmethod
    def cities(self) -> tuple[str, ...]:
        """Every city, in directory order."""

    @abstractmethod
    def hotels_in(self, city: str) -> tuple[str, ...]:
        """The city's hotel ids in directory order (matched without regard to case); raises
        ``UnknownCity``."""

    @abstractmethod
    def suppliers(self) -> tuple[str, ...]:
        """The suppliers with a catalogue (empty: the directory says nothing about who sells what)."""

    @abstractmethod
    def sellers(self, hotel_id: str) -> Mapping[str, str] | None:
        """Supplier -> its code for ``hotel_id``, for the suppliers that sell it; None when the
        directory cannot say (no catalogues, or a hotel it does not list): ask every supplier."""

    def supplier_code(self, supplier: str, hotel_id: str) -> str:
        """The code ``supplier`` knows ``hotel_id`` by (the id itself when the directory has none)."""
        sellers = self.sellers(hotel_id)
        return hotel_id if sellers is None else sellers.get(supplier, hotel_id)

    def describe(self) -> dict[str, Any]:
        cities = self.cities()
        return {
            "backend": self.name,
            "cities": len(cities),
            "hotels": sum(len(self.hotels_in(c)) for c in cities),
            "suppliers": list(self.suppliers()),
        }

    def resolve(self, city: str, limit: int) -> CityHotels:
        """The hotels a search of ``city`` asks for: at most ``limit``, the first in directory order."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1 (got {limit})")
        hotels = self.hotels_in(city)
        canonical = next(c for c in self.cities() if c.lower() == city.lower())
        return CityHotels(canonical, hotels[:limit], len(hotels))


class Coverage(BaseModel):
    """A catalogue as a rule: the hotels at directory positions ``n`` with ``n % every == offset``,
    under the codes ``<code_prefix><n:06d>`` (the supplier simulator reads the same rule)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code_prefix: str = Field(pattern=r"^[A-Za-z0-9_.-]{0,32}$")
    every: int = Field(1, ge=1)
    offset: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _offset_below_every(self) -> Self:
        if self.offset >= self.every:
            raise ValueError(f"coverage offset must be below every (got offset {self.offset}, every {self.every})")
        return self

    def code(self, position: int) -> str | None:
        """The supplier's code of the hotel at ``position``, or None if it does not sell it."""
        return f"{self.code_prefix}{position:0{HOTEL_ID_DIGITS}d}" if position % self.every == self.offset else None

    def sells(self, code: str) -> bool:
        """Is ``code`` one of this catalogue's codes?"""
        number = code[len(self.code_prefix) :]
        return (
            code.startswith(self.code_prefix)
            and len(number) >= HOTEL_ID_DIGITS
            and number.isascii()
            and number.isdigit()
            and int(number) % self.every == self.offset
        )


class SupplierCatalogue(BaseModel):
    """One supplier's hotels in the directory and its codes for them: a rule or explicit codes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=ID_PATTERN)
    coverage: Coverage | None = None
    hotel_codes: dict[str, Annotated[str, Field(pattern=SUPPLIER_CODE_PATTERN)]] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        if (self.coverage is None) == (self.hotel_codes is None):
            raise ValueError(f"supplier {self.name}: give exactly one of coverage and hotel_codes")
        if self.hotel_codes is not None:
            repeated = sorted(code for code, n in Counter(self.hotel_codes.values()).items() if n > 1)
            if repeated:
                raise ValueError(f"supplier {self.name}: codes {repeated[:5]} name more than one hotel")
        return self

    def codes(self, hotels: Sequence[str]) -> dict[str, str]:
        """Our hotel id -> the supplier's code, for the directory's ``hotels`` in directory order."""
        if self.hotel_codes is not None:
            return dict(self.hotel_codes)
        assert self.coverage is not None
        coverage = self.coverage
        return {hotel: code for n, hotel in enumerate(hotels) if (code := coverage.code(n)) is not None}


class _CityEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=ID_PATTERN)
    hotels: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _hotel_ids(self) -> Self:
        bad = [h for h in self.hotels if not _ID.match(h)]
        if bad:
            raise ValueError(f"city {self.name}: malformed hotel ids {bad[:5]} (pattern {ID_PATTERN})")
        return self


class DirectoryContent(BaseModel):
    """The directory file's schema: every city once (case-insensitive), every hotel in one city."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = FORMAT_VERSION
    comment: str = ""  # provenance, e.g. Ansible's managed note (JSON has no comments)
    cities: tuple[_CityEntry, ...] = Field(min_length=1)
    suppliers: tuple[SupplierCatalogue, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.version not in READABLE_VERSIONS:
            raise ValueError(f"unsupported directory version {self.version} (this app reads {READABLE_VERSIONS})")
        if self.version == 1 and self.suppliers:
            raise ValueError("a version 1 directory has no suppliers (version 2 adds them)")
        seen: dict[str, str] = {}
        for entry in self.cities:
            if entry.name.lower() in seen:
                raise ValueError(f"city {entry.name!r} is listed twice")
            seen[entry.name.lower()] = entry.name
        owner: dict[str, str] = {}
        for entry in self.cities:
            for hotel in entry.hotels:
                if hotel in owner and owner[hotel] != entry.name:
                    raise ValueError(f"hotel {hotel} is in two cities: {owner[hotel]} and {entry.name}")
                owner[hotel] = entry.name
        names = [s.name for s in self.suppliers]
        if len(set(names)) != len(names):
            raise ValueError(f"supplier names must be unique (got {names})")
        for catalogue in self.suppliers:
            unknown = [h for h in catalogue.hotel_codes or () if h not in owner]
            if unknown:
                raise ValueError(f"supplier {catalogue.name}: hotels {unknown[:5]} are in no city of the directory")
        return self

    def hotels(self) -> tuple[str, ...]:
        """Every hotel once, in directory order (the positions ``Coverage`` counts)."""
        return tuple(dict.fromkeys(h for entry in self.cities for h in entry.hotels))


class MemoryDirectory(HotelDirectory):
    """A directory held in memory (what ``FileDirectory`` loads; also tests)."""

    name = "memory"

    def __init__(self, content: DirectoryContent | Mapping[str, Iterable[str]]) -> None:
        if not isinstance(content, DirectoryContent):
            content = DirectoryContent.model_validate(
                {"cities": [{"name": city, "hotels": tuple(hotels)} for city, hotels in content.items()]}
            )
        # a hotel listed twice in its city is searched once
        self._hotels = {e.name.lower(): tuple(dict.fromkeys(e.hotels)) for e in content.cities}
        self._names = tuple(e.name for e in content.cities)
        self._suppliers = tuple(s.name for s in content.suppliers)
        self._sellers: dict[str, dict[str, str]] = {}
        if content.suppliers:
            hotels = content.hotels()
            self._sellers = {hotel: {} for hotel in hotels}
            for catalogue in content.suppliers:
                for hotel, code in catalogue.codes(hotels).items():
                    self._sellers[hotel][catalogue.name] = code

    def cities(self) -> tuple[str, ...]:
        return self._names

    def suppliers(self) -> tuple[str, ...]:
        return self._suppliers

    def sellers(self, hotel_id: str) -> Mapping[str, str] | None:
        return self._sellers.get(hotel_id)

    def hotels_in(self, city: str) -> tuple[str, ...]:
        try:
            return self._hotels[city.lower()]
        except KeyError:
            raise UnknownCity(city, self._names) from None


class FileDirectory(MemoryDirectory):
    """The directory file (JSON, see the module docstring), read once at startup."""

    name = "file"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        super().__init__(load(self.path))

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "file": str(self.path)}


def load(path: str | Path) -> DirectoryContent:
    source = Path(path)
    try:
        return DirectoryContent.model_validate(json.loads(source.read_text(encoding="utf-8")))
    except OSError as exc:
        raise DirectoryError(f"cannot read hotel directory {source}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise DirectoryError(f"hotel directory {source} is not JSON: {exc}") from exc
    except ValidationError as exc:
        raise DirectoryError(f"invalid hotel directory {source}: {exc}") from exc


def generate(
    cities: Sequence[tuple[str, int]] = LAB_CITIES,
    *,
    prefix: str = LAB_HOTEL_PREFIX,
    start: int = 0,
    suppliers: Sequence[SupplierCatalogue | Mapping[str, Any]] = LAB_CATALOGUES,
) -> DirectoryContent:
    """Cities with ``count`` hotels each, numbered ``<prefix><n:06d>`` from ``start`` in the order
    given, sold by ``suppliers`` (catalogues; empty: no supplier mapping)."""
    entries = []
    number = start
    for city, count in cities:
        if count < 1:
            raise ValueError(f"city {city}: needs at least one hotel (got {count})")
        hotels = [f"{prefix}{n:0{HOTEL_ID_DIGITS}d}" for n in range(number, number + count)]
        entries.append({"name": city, "hotels": hotels})
        number += count
    catalogues = [c.model_dump(exclude_none=True) if isinstance(c, SupplierCatalogue) else c for c in suppliers]
    return DirectoryContent.model_validate({"cities": entries, "suppliers": catalogues})


def main(argv: list[str] | None = None) -> int:
    """``python -m app.search.directory --check FILE``, or ``--generate`` the lab's directory to stdout."""
    parser = argparse.ArgumentParser(prog="python -m app.search.directory")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--check", metavar="FILE", help="hotel directory file to validate")
    action.add_argument("--generate", action="store_true", help="print the lab's directory (LAB_CITIES)")
    args = parser.parse_args(argv)
    if args.generate:
        print(generate().model_dump_json())
        return 0
    try:
        directory = FileDirectory(args.check)
    except DirectoryError as exc:
        print(exc, file=sys.stderr)
        return 1
    info = directory.describe()
    sellers = f"{len(info['suppliers'])} supplier catalogues" if info["suppliers"] else "no supplier catalogues"
    print(f"ok: {info['cities']} cities, {info['hotels']} hotels, {sellers}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
