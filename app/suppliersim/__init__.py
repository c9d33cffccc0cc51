"""Supplier simulator: the external hotel suppliers the search protects, as one small HTTP service.

Each configured supplier has its own latency, capacity limit (a sliding window; calls over it are
answered 429 and counted), error rate, share of unavailable hotels, and runtime-switchable modes
("everything unavailable", "bookings fail"). Prices and availability are a pure function of the
request (supplier, hotel, stay, occupancy), so two simulators, or two runs, answer the same.

Run: ``python -m app.suppliersim --host 127.1.0.71 --port 8100 --config suppliers.yaml``.
The HTTP contract is in ``api``; ``app.search.supplier_client`` is its client.
"""
