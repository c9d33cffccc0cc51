"""Geographic sharding: a city lives in exactly one database, and every id names its shard.

Ids issued by a shard (events, holds, bookings) carry the shard's number in their high bits, so
a request that only names an id (GET /v1/bookings/{id}) is routed without a lookup table.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.common.settings import Settings

SHARD_BITS = 48  # 2**48 ids per shard; the number sits above them (and below the sign bit)
LOCAL_MASK = (1 << SHARD_BITS) - 1


class UnknownCity(LookupError):
    pass


class UnknownShard(LookupError):
    pass


def encode_id(shard_number: int, local: int) -> int:
    if not 0 < local <= LOCAL_MASK:
        raise ValueError(f"local id {local} out of range")
    return (shard_number << SHARD_BITS) | local


def shard_number_of(global_id: int) -> int:
    return global_id >> SHARD_BITS


@dataclass(frozen=True)
class ShardMap:
    """City id → shard name, and shard number → shard name (from the settings)."""

    city_shard: dict[int, str]
    numbers: dict[int, str]
    databases: dict[str, str]

    @classmethod
    def from_settings(cls, settings: Settings) -> ShardMap:
        return cls(
            city_shard={c.id: c.shard for c in settings.cities},
            numbers={s.number: name for name, s in settings.shards.items()},
            databases={name: s.database for name, s in settings.shards.items()},
        )

    def for_city(self, city_id: int) -> str:
        try:
            return self.city_shard[city_id]
        except KeyError:
            raise UnknownCity(f"unknown city {city_id}") from None

    def for_id(self, global_id: int) -> str:
        try:
            return self.numbers[shard_number_of(global_id)]
        except KeyError:
            raise UnknownShard(f"id {global_id} belongs to no shard") from None

    def number(self, shard: str) -> int:
        for number, name in self.numbers.items():
            if name == shard:
                return number
        raise UnknownShard(f"unknown shard {shard}")
