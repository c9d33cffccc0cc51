"""The hotel directory: which hotels are in which city (static content, like an OTA's content
database). A city search asks it for the city's hotel ids and then runs the same search as ids.

Interface: ``HotelDirectory`` (``cities``, ``hotels_in``, ``describe``). Backend: ``FileDirectory``,
a JSON file whose path is in the search settings (``directory.file``). The Ansible role
``app_search`` renders it from role variables (``app_search_directory_cities``); production
installs its content export there instead. Format::

    {"version": 1,
     "cities": [{"name": "antalya", "hotels": ["bh000000", "bh000001", ...]},
                {"name": "kas", "hotels": ["bh009900", ...]}]}

City names are ids (the pattern of hotel ids: letters, digits, ``_.-``) and are matched without
regard to case; a hotel is in exactly one city, and a city has at least one hotel.

``generate(cities)`` builds the same structure from (city, number of hotels) pairs, numbering
hotels ``<prefix><n:06d>`` in the order given: the lab's 10,000 hotels ``bh000000..bh009999``
(the ids ``roadie bench search`` uses) are spread over ``LAB_CITIES``. The role's defaults list
the same cities, and a unit test checks that what the role renders equals ``generate``.

``python -m app.search.directory --check hotels.json`` validates a file (the role uses it).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.search.models import ID_PATTERN

FORMAT_VERSION = 1
HOTEL_ID_DIGITS = 6
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

    def describe(self) -> dict[str, Any]:
        cities = self.cities()
        return {"backend": self.name, "cities": len(cities), "hotels": sum(len(self.hotels_in(c)) for c in cities)}

    def resolve(self, city: str, limit: int) -> CityHotels:
        """The hotels a search of ``city`` asks for: at most ``limit``, the first in directory order."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1 (got {limit})")
        hotels = self.hotels_in(city)
        canonical = next(c for c in self.cities() if c.lower() == city.lower())
        return CityHotels(canonical, hotels[:limit], len(hotels))


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

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.version != FORMAT_VERSION:
            raise ValueError(f"unsupported directory version {self.version} (this app reads {FORMAT_VERSION})")
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
        return self


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

    def cities(self) -> tuple[str, ...]:
        return self._names

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
    cities: Sequence[tuple[str, int]] = LAB_CITIES, *, prefix: str = LAB_HOTEL_PREFIX, start: int = 0
) -> DirectoryContent:
    """Cities with ``count`` hotels each, numbered ``<prefix><n:06d>`` from ``start`` in the order given."""
    entries = []
    number = start
    for city, count in cities:
        if count < 1:
            raise ValueError(f"city {city}: needs at least one hotel (got {count})")
        hotels = [f"{prefix}{n:0{HOTEL_ID_DIGITS}d}" for n in range(number, number + count)]
        entries.append({"name": city, "hotels": hotels})
        number += count
    return DirectoryContent.model_validate({"cities": entries})


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
    print(f"ok: {info['cities']} cities, {info['hotels']} hotels")
    return 0


if __name__ == "__main__":
    sys.exit(main())
