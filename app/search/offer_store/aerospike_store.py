"""Offer store on Aerospike (production): batch reads, a TTL per record, offers as native bins.

One record per answer in ``<namespace>.<set>``, user key = the rendered ``OfferKey``; bins as in
``offer_store.codec``. The primary index (64 bytes per record, in memory) is why "unavailable"
answers are not stored here but in the Bloom negative cache. Reads are ``batch_read`` (the
client groups keys by owning node: one request per node); writes are ``batch_write`` of ``Write``
records, each with its own ``meta={"ttl": ...}`` (the namespace must allow TTLs:
``nsup-period`` > 0).

The ``aerospike`` client is a C extension and is imported only when this backend is built, so the
module imports without it. Configuration::

    offer_store:
      backend: aerospike
      hosts: [[10.0.1.10, 3000], [10.0.2.10, 3000]]
      namespace: offers
      set: offers
      timeout_ms: 50          # total timeout of each batch call
      rack_aware: true        # read from the replica in this node's rack (AZ)
      rack_id: 1
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, Self

from app.search.cache_key import OfferKey
from app.search.models import HotelAnswer
from app.search.offer_store.base import BackendUnavailable, OfferRecord, OfferStore, OfferStoreError
from app.search.offer_store.codec import from_bins, to_bins

BINS = ["sup", "hotel", "at", "offers"]
RECORD_OK = 0
INSTALL_HINT = "pip install 'aerospike>=15,<20'"


class AerospikeApi(NamedTuple):
    """The pieces of the ``aerospike`` package this store uses (injectable for tests)."""

    client: Callable[[dict[str, Any]], Any]  # aerospike.client
    error: type[Exception]  # aerospike.exception.AerospikeError
    write_op: Callable[[str, Any], dict[str, Any]]  # aerospike_helpers.operations.operations.write
    batch_write: Callable[..., Any]  # aerospike_helpers.batch.records.Write
    batch_records: Callable[[list[Any]], Any]  # aerospike_helpers.batch.records.BatchRecords
    prefer_rack: int = 3  # aerospike.POLICY_REPLICA_PREFER_RACK


def load_api() -> AerospikeApi:
    """Import the Aerospike client, or fail with a message that says how to get it."""
    try:
        aerospike = importlib.import_module("aerospike")
        exception = importlib.import_module("aerospike.exception")
        operations = importlib.import_module("aerospike_helpers.operations.operations")
        records = importlib.import_module("aerospike_helpers.batch.records")
    except ImportError as exc:
        raise BackendUnavailable(
            f"the 'aerospike' offer store needs the Aerospike Python client, which is not installed "
            f"({exc}); install it with: {INSTALL_HINT}, or choose the 'redis' backend"
        ) from exc
    return AerospikeApi(
        client=aerospike.client,
        error=exception.AerospikeError,
        write_op=operations.write,
        batch_write=records.Write,
        batch_records=records.BatchRecords,
        prefer_rack=aerospike.POLICY_REPLICA_PREFER_RACK,
    )


class AerospikeOfferStore(OfferStore):
    name = "aerospike"

    def __init__(self, client: Any, api: AerospikeApi, *, namespace: str, set_name: str) -> None:
        self._client = client
        self._api = api
        self.namespace = namespace
        self.set_name = set_name

    @classmethod
    def from_config(cls, options: Mapping[str, Any]) -> Self:
        api = load_api()
        timeout = int(options.get("timeout_ms", 50))
        config: dict[str, Any] = {
            "hosts": [(str(host), int(port)) for host, port in options["hosts"]],
            "policies": {
                "batch": {"total_timeout": timeout},
                "batch_write": {},
                "read": {"total_timeout": timeout},
            },
        }
        if options.get("rack_aware"):
            config["rack_aware"] = True
            config["rack_id"] = int(options.get("rack_id", 0))
            config["policies"]["batch"]["replica"] = api.prefer_rack
        try:
            client = api.client(config)
            if not client.is_connected():
                client.connect()
        except api.error as exc:
            raise OfferStoreError(f"aerospike offer store: cannot connect to {config['hosts']}: {exc}") from exc
        return cls(client, api, namespace=str(options["namespace"]), set_name=str(options.get("set", "offers")))

    def _key(self, key: OfferKey) -> tuple[str, str, str]:
        return (self.namespace, self.set_name, key.render())

    async def get_many(self, keys: Sequence[OfferKey]) -> list[HotelAnswer | None]:
        if not keys:
            return []
        as_keys = [self._key(key) for key in keys]
        try:
            result = await asyncio.to_thread(self._client.batch_read, as_keys, BINS)
        except self._api.error as exc:
            raise OfferStoreError(f"aerospike offer store: batch read of {len(keys)} keys failed: {exc}") from exc
        answers: list[HotelAnswer | None] = []
        for batch_record in result.batch_records:
            record = batch_record.record
            if batch_record.result != RECORD_OK or record is None or len(record) < 3 or not record[2]:
                answers.append(None)  # not found, expired, or this key's sub-read failed
            else:
                answers.append(from_bins(record[2]))
        return answers

    async def put_many(self, records: Sequence[OfferRecord]) -> None:
        if not records:
            return
        writes = []
        for record in records:
            if record.ttl <= 0:
                raise ValueError(f"{record.key.render()}: ttl must be > 0 seconds (got {record.ttl})")
            ops = [self._api.write_op(name, value) for name, value in to_bins(record.answer).items()]
            writes.append(self._api.batch_write(self._key(record.key), ops, meta={"ttl": record.ttl}))
        batch = self._api.batch_records(writes)
        try:
            await asyncio.to_thread(self._client.batch_write, batch)
        except self._api.error as exc:
            message = f"aerospike offer store: batch write of {len(records)} records failed: {exc}"
            raise OfferStoreError(message) from exc
        failed = [w for w in batch.batch_records if w.result != RECORD_OK]
        if failed:
            raise OfferStoreError(
                f"aerospike offer store: {len(failed)} of {len(records)} writes failed "
                f"(first: {failed[0].key[2]} result {failed[0].result})"
            )

    async def evict(self, keys: Sequence[OfferKey]) -> None:
        if not keys:
            return
        try:
            # batch_remove reports a missing record per key, not as an exception: nothing to do then.
            await asyncio.to_thread(self._client.batch_remove, [self._key(key) for key in keys])
        except self._api.error as exc:
            raise OfferStoreError(f"aerospike offer store: evicting {len(keys)} keys failed: {exc}") from exc

    async def close(self) -> None:
        await asyncio.to_thread(self._client.close)

    def describe(self) -> Mapping[str, Any]:
        return {"backend": self.name, "namespace": self.namespace, "set": self.set_name}
