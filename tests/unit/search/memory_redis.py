"""An in-process stand-in for the few Redis commands the negative cache uses (no server needed).

Strings and bitmaps share one dict as in Redis; bit 0 is the most significant bit of byte 0.
Expiry times are recorded, not enforced: the tests move the clock, not Redis' own.
"""

from __future__ import annotations

from typing import Any


class MemoryRedis:
    def __init__(self) -> None:
        self.data: dict[str, bytes | bytearray] = {}
        self.expire_at: dict[str, int] = {}
        self.round_trips = 0

    def pipeline(self, transaction: bool = False) -> MemoryPipeline:
        return MemoryPipeline(self)

    async def mget(self, keys: list[str]) -> list[bytes | None]:
        self.round_trips += 1
        return [self._get(key) for key in keys]

    async def get(self, key: str) -> bytes | None:
        self.round_trips += 1
        return self._get(key)

    async def set(self, key: str, value: Any, nx: bool = False, ex: int | None = None) -> bool | None:
        self.round_trips += 1
        if nx and key in self.data:
            return None
        self.data[key] = str(value).encode()
        return True

    async def incr(self, key: str) -> int:
        self.round_trips += 1
        return self._incrby(key, 1)

    def _get(self, key: str) -> bytes | None:
        value = self.data.get(key)
        return None if value is None else bytes(value)

    def _incrby(self, key: str, amount: int) -> int:
        value = int(self.data.get(key, b"0")) + amount
        self.data[key] = str(value).encode()
        return value

    def _bitfield(self, key: str, args: tuple[Any, ...], write: bool) -> list[int]:
        bits = self.data.setdefault(key, bytearray()) if write else self.data.get(key, bytearray())
        replies = []
        step = 4 if write else 3
        for i in range(0, len(args), step):
            pos = int(args[i + 2])
            byte, mask = pos >> 3, 0x80 >> (pos & 7)
            old = int(byte < len(bits) and bool(bits[byte] & mask))
            if write:
                assert isinstance(bits, bytearray)
                if len(bits) <= byte:
                    bits.extend(bytes(byte + 1 - len(bits)))
                bits[byte] |= mask
            replies.append(old)
        return replies


class MemoryPipeline:
    def __init__(self, redis: MemoryRedis) -> None:
        self._redis = redis
        self._queued: list[tuple[str, tuple[Any, ...]]] = []

    def incrby(self, key: str, amount: int) -> None:
        self._queued.append(("INCRBY", (key, amount)))

    def expireat(self, key: str, when: int) -> None:
        self._queued.append(("EXPIREAT", (key, when)))

    def execute_command(self, name: str, *args: Any) -> None:
        self._queued.append((name, args))

    async def execute(self) -> list[Any]:
        self._redis.round_trips += 1
        return [self._run(name, args) for name, args in self._queued]

    def _run(self, name: str, args: tuple[Any, ...]) -> Any:
        redis = self._redis
        if name == "INCRBY":
            return redis._incrby(args[0], int(args[1]))
        if name == "EXPIREAT":
            redis.expire_at[args[0]] = int(args[1])
            return int(args[0] in redis.data)
        if name in ("BITFIELD", "BITFIELD_RO"):
            return redis._bitfield(args[0], args[1:], write=name == "BITFIELD")
        raise NotImplementedError(name)
