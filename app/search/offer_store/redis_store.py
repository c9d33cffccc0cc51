"""Offer store on Redis (the lab's backend: no Aerospike server runs there).

One string per answer, JSON, under the rendered ``OfferKey``. Reads are one ``MGET``; writes are
one pipeline of ``SET key value EX ttl``. Configuration: ``app.search.redis_client.RedisSettings``
keys (``url``, or ``sentinels`` + ``service``), plus ``prefix`` (default none).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self

from pydantic import ValidationError
from redis.exceptions import RedisError

from app.search.cache_key import OfferKey
from app.search.models import HotelAnswer
from app.search.offer_store.base import OfferRecord, OfferStore, OfferStoreError
from app.search.offer_store.codec import from_json, to_json
from app.search.redis_client import RedisSettings, connect

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)


class RedisOfferStore(OfferStore):
    name = "redis"

    def __init__(self, redis: Redis, *, prefix: str = "") -> None:
        self._redis = redis
        self._prefix = prefix

    @classmethod
    def from_config(cls, options: Mapping[str, Any]) -> Self:
        settings = {k: v for k, v in options.items() if k != "prefix"}
        return cls(connect(RedisSettings.from_config(settings)), prefix=str(options.get("prefix", "")))

    def _key(self, key: OfferKey) -> str:
        return self._prefix + key.render()

    async def get_many(self, keys: Sequence[OfferKey]) -> list[HotelAnswer | None]:
        if not keys:
            return []
        try:
            raws = await self._redis.mget([self._key(key) for key in keys])
        except RedisError as exc:
            raise OfferStoreError(f"redis offer store: batch read of {len(keys)} keys failed: {exc}") from exc
        answers: list[HotelAnswer | None] = []
        for key, raw in zip(keys, raws, strict=True):
            answer = None
            if raw is not None:
                try:
                    answer = from_json(raw)
                except ValidationError:
                    log.warning("redis offer store: unreadable record %s, treated as a miss", key.render())
            answers.append(answer)
        return answers

    async def put_many(self, records: Sequence[OfferRecord]) -> None:
        if not records:
            return
        pipe = self._redis.pipeline(transaction=False)
        for record in records:
            if record.ttl <= 0:
                raise ValueError(f"{record.key.render()}: ttl must be > 0 seconds (got {record.ttl})")
            pipe.set(self._key(record.key), to_json(record.answer), ex=record.ttl)
        try:
            await pipe.execute()
        except RedisError as exc:
            message = f"redis offer store: batch write of {len(records)} records failed: {exc}"
            raise OfferStoreError(message) from exc

    async def evict(self, keys: Sequence[OfferKey]) -> None:
        if not keys:
            return
        try:
            await self._redis.delete(*(self._key(key) for key in keys))
        except RedisError as exc:
            raise OfferStoreError(f"redis offer store: evicting {len(keys)} keys failed: {exc}") from exc

    async def close(self) -> None:
        await self._redis.aclose()
