"""Shard routing: a city goes to one shard, and every id names the shard that issued it."""

import pytest

from app.tickets.shards import SHARD_BITS, ShardMap, UnknownCity, UnknownShard, encode_id, shard_number_of

SHARDS = ShardMap(city_shard={1: "msk", 2: "msk", 3: "spb"}, numbers={1: "msk", 2: "spb"}, databases={})


def test_ids_carry_their_shard_number():
    assert shard_number_of(encode_id(2, 12345)) == 2
    assert encode_id(1, 1) == (1 << SHARD_BITS) + 1


def test_ids_stay_below_javascripts_safe_integer_limit_for_small_shard_numbers():
    assert encode_id(31, (1 << SHARD_BITS) - 1) < 2**53


@pytest.mark.parametrize("local", [0, -1, 1 << SHARD_BITS])
def test_local_ids_out_of_range_are_refused(local):
    with pytest.raises(ValueError):
        encode_id(1, local)


def test_cities_and_ids_route_to_their_shard():
    assert SHARDS.for_city(3) == "spb"
    assert SHARDS.for_id(encode_id(1, 7)) == "msk"
    assert SHARDS.number("spb") == 2


def test_unknown_city_and_foreign_id_are_lookup_errors():
    with pytest.raises(UnknownCity):
        SHARDS.for_city(99)
    with pytest.raises(UnknownShard):
        SHARDS.for_id(encode_id(9, 1))
    with pytest.raises(UnknownShard):
        SHARDS.for_id(5)
