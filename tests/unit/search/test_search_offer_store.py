"""Offer store: backend discovery, unknown names, codecs, and the Aerospike adapter on a fake client."""

import asyncio
import importlib.util
from datetime import UTC, date, datetime

import pytest

from app.search.cache_key import OfferKey
from app.search.models import HotelAnswer, Occupancy, Offer
from app.search.offer_store import (
    BackendUnavailable,
    OfferRecord,
    OfferStoreError,
    UnknownBackend,
    backends,
    create_offer_store,
)
from app.search.offer_store.aerospike_store import AerospikeApi, AerospikeOfferStore
from app.search.offer_store.codec import from_bins, from_json, to_bins, to_json

OCC = Occupancy.model_validate({"rooms": [{"adults": 2}]})
ANSWER = HotelAnswer(
    supplier="s",
    hotel_id="h1",
    fetched_at=datetime(2030, 1, 1, 12, 0, 0, 123000, tzinfo=UTC),
    offers=(Offer(offer_id="o1", room="Standard", board="BB", price_minor=12345, currency="EUR"),),
)


def key(hotel="h1"):
    return OfferKey.of("s", hotel, date(2030, 5, 1), 7, OCC)


def test_backends_are_discovered_from_the_package():
    assert set(backends()) == {"aerospike", "redis"}


def test_an_unknown_backend_names_the_available_ones():
    with pytest.raises(UnknownBackend, match="unknown offer store backend 'memcached'; available: aerospike, redis"):
        create_offer_store("memcached", {})


def test_aerospike_without_its_client_fails_clearly():
    if importlib.util.find_spec("aerospike") is not None:
        pytest.skip("the aerospike client is installed here")
    with pytest.raises(BackendUnavailable, match=r"needs the Aerospike Python client.*pip install"):
        create_offer_store("aerospike", {"hosts": [["127.0.0.1", 3000]], "namespace": "offers"})


def test_codecs_round_trip():
    assert from_json(to_json(ANSWER)) == ANSWER
    assert from_bins(to_bins(ANSWER)) == ANSWER
    assert all(len(name) <= 15 for name in to_bins(ANSWER))  # Aerospike's bin-name limit


class FakeAerospikeError(Exception):
    pass


class FakeBatchRecord:
    def __init__(self, key, ops=None, meta=None):
        self.key, self.ops, self.meta = key, ops, meta
        self.record = None
        self.result = 0


class FakeBatchRecords:
    def __init__(self, records):
        self.batch_records = records


class FakeClient:
    """Enough of aerospike.Client: batch_read, batch_write and batch_remove, records with TTLs."""

    def __init__(self):
        self.records = {}
        self.batch_reads = 0
        self.fail = False

    def batch_read(self, keys, bins):
        self.batch_reads += 1
        if self.fail:
            raise FakeAerospikeError("cluster unreachable")
        out = []
        for k in keys:
            record = FakeBatchRecord(k)
            if k in self.records:
                bins_, meta = self.records[k]
                record.record = (k, meta, bins_)
            else:
                record.result = 2  # AEROSPIKE_ERR_RECORD_NOT_FOUND
            out.append(record)
        return FakeBatchRecords(out)

    def batch_write(self, batch):
        for write in batch.batch_records:
            self.records[write.key] = ({op["bin"]: op["val"] for op in write.ops}, write.meta)

    def batch_remove(self, keys):
        for k in keys:
            self.records.pop(k, None)

    def close(self):
        pass


def fake_api():
    return AerospikeApi(
        client=lambda config: FakeClient(),
        error=FakeAerospikeError,
        write_op=lambda name, value: {"op": "write", "bin": name, "val": value},
        batch_write=FakeBatchRecord,
        batch_records=FakeBatchRecords,
    )


async def _aerospike_round_trip():
    client = FakeClient()
    store = AerospikeOfferStore(client, fake_api(), namespace="offers", set_name="offers")
    await store.put_many([OfferRecord(key("h1"), ANSWER, 300)])
    got = await store.get_many([key("h1"), key("h2")])
    return client, got, store


def test_aerospike_store_batch_reads_and_per_record_ttl():
    client, got, store = asyncio.run(_aerospike_round_trip())
    assert got == [ANSWER, None]
    assert client.batch_reads == 1  # one batch for both keys
    stored_key = ("offers", "offers", key("h1").render())
    bins, meta = client.records[stored_key]
    assert meta == {"ttl": 300}
    assert set(bins) == {"sup", "hotel", "at", "offers"}
    client.fail = True
    with pytest.raises(OfferStoreError, match="batch read of 1 keys failed"):
        asyncio.run(store.get_many([key("h1")]))
    with pytest.raises(ValueError, match="ttl must be > 0"):
        asyncio.run(store.put_many([OfferRecord(key("h1"), ANSWER, 0)]))


def test_aerospike_store_evicts_a_refused_offer():
    async def evict():
        client = FakeClient()
        store = AerospikeOfferStore(client, fake_api(), namespace="offers", set_name="offers")
        await store.put_many([OfferRecord(key("h1"), ANSWER, 300), OfferRecord(key("h2"), ANSWER, 300)])
        await store.evict([key("h1"), key("h9")])  # h9 was never there: no error
        return await store.get_many([key("h1"), key("h2")])

    assert asyncio.run(evict()) == [None, ANSWER]
