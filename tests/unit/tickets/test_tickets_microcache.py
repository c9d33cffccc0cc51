"""The micro-cache replays a validated 200 answer of a listed GET path for its TTL, only that."""

import asyncio

from app.common.microcache import MicroCache


class Clock:
    now = 0.0

    def __call__(self):
        return self.now


def counting_app(status=200):
    calls = []

    async def app(scope, receive, send):
        calls.append(scope["query_string"])
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"x-request-id", b"abc")],
            }
        )
        await send({"type": "http.response.body", "body": b"[%d]" % len(calls)})

    return app, calls


def get(app, path="/v1/events", query=b"city_id=1", method="GET"):
    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": method, "path": path, "query_string": query}
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], sent[1]["body"], dict(sent[0]["headers"])


def test_identical_urls_are_answered_from_memory_until_the_ttl_ends():
    inner, calls = counting_app()
    clock = Clock()
    cache = MicroCache(inner, {"/v1/events": "/v1/events"}, ttl=1.0, clock=clock)
    assert get(cache)[1] == b"[1]"
    status, body, headers = get(cache)
    assert (status, body) == (200, b"[1]") and len(calls) == 1
    assert b"x-request-id" not in headers  # a replay never repeats another request's id
    assert get(cache, query=b"city_id=2")[1] == b"[2]"  # another URL is another entry
    clock.now = 1.5
    assert get(cache)[1] == b"[3]"


def test_other_paths_methods_and_errors_always_reach_the_app():
    inner, calls = counting_app(status=404)
    cache = MicroCache(inner, {"/v1/events": "/v1/events"}, clock=Clock())
    get(cache)
    get(cache)
    get(cache, path="/v1/cities")
    get(cache, method="POST")
    assert len(calls) == 4


def test_an_expired_answer_is_served_while_one_request_refreshes_it():
    release = asyncio.Event()
    calls = []

    async def slow_app(scope, receive, send):
        calls.append(1)
        if len(calls) > 1:
            await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"[%d]" % len(calls)})

    clock = Clock()
    cache = MicroCache(slow_app, {"/v1/events": "/v1/events"}, ttl=1.0, clock=clock)

    async def request():
        sent = []

        async def send(message):
            sent.append(message)

        async def receive():
            return {"type": "http.request", "body": b""}

        await cache({"type": "http", "method": "GET", "path": "/v1/events", "query_string": b""}, receive, send)
        return sent[1]["body"]

    async def main():
        assert await request() == b"[1]"
        clock.now = 2.0  # expired
        refresher = asyncio.create_task(request())
        await asyncio.sleep(0)  # the refresher is inside the app now
        others = [await request() for _ in range(3)]
        release.set()
        return others, await refresher

    others, refreshed = asyncio.run(main())
    assert others == [b"[1]"] * 3 and refreshed == b"[2]"
    assert len(calls) == 2
