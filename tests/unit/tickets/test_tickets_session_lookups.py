"""A crowd on one session asks Redis once (a burst of 500 buyers in one session made some of
their lookups time out and answer 503)."""

import asyncio

from app.tickets.sessions import Sessions, session_key


class CountingRedis:
    """A stand-in for Redis's GET (the session store's only read): counts calls, answers slowly."""

    def __init__(self) -> None:
        self.gets = 0

    async def get(self, key: str) -> str | None:
        self.gets += 1
        await asyncio.sleep(0.05)
        return "alice" if key == session_key("s-1") else None


def test_concurrent_lookups_of_one_session_share_one_redis_read():
    redis = CountingRedis()
    sessions = Sessions(redis, ttl=600)  # type: ignore[arg-type]

    async def crowd() -> list[str | None]:
        return await asyncio.gather(*(sessions.customer("s-1") for _ in range(100)))

    assert asyncio.run(crowd()) == ["alice"] * 100
    assert redis.gets == 1
    # Later lookups read again (no stale local copy: an expired session is refused at once).
    asyncio.run(sessions.customer("s-1"))
    assert redis.gets == 2
