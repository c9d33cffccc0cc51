"""Hotel supplier search: answer users fast while sending suppliers as few requests as possible.

One module per concept:

- ``models``: validated search request, occupancy and offer types.
- ``cache_key``: offer cache keys, routing keys and batch keys.
- ``ttl``: offer TTL by search depth (days until check-in).
- ``offer_store``: the offer cache interface and its backends (Redis, Aerospike).
- ``bloom`` / ``negative_cache``: Bloom filter maths and the Redis-bitmap negative cache.
- ``rendezvous`` / ``membership``: weighted HRW routing over healthy search nodes.
- ``batching``: per supplier + stay coalescing of concurrent searches into one supplier call.
- ``rate_limit`` / ``look_to_book``: cluster-wide supplier rate limits and look-to-book tracking.
- ``breaker`` / ``breaker_window`` / ``breaker_redis``: per-supplier circuit breaker, shared via Redis.
- ``supplier_client``: the suppliers' HTTP API (as served by ``app.suppliersim``).
- ``fetcher``: a cache miss on the owning node: coalesce, breaker, rate limit, call, remember.
- ``service``: a user's search: offer store, negative cache, then fetch; best offer per hotel.
- ``metrics``: Prometheus gauges per supplier (breaker state, success rates, look-to-book).
- ``redis_client`` / ``durations``: Redis by URL or Sentinel; "5m"-style durations in config.
"""
