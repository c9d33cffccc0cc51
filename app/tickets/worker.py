"""The app node's background worker: one outbox relay per shard and the counters consumer.

    python -m app.tickets.worker   (settings from $ROADIE_APP_CONFIG)

Runs as its own service next to the web server, so a slow broker never holds up requests.
SIGTERM stops it cleanly: relays finish their batch, the consumer stops taking messages.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType

from prometheus_client import start_http_server

from app.common.logging import setup_logging
from app.common.metrics import REGISTRY
from app.common.settings import SettingsError, load_settings
from app.tickets.consumer import CountersConsumer
from app.tickets.outbox import OutboxRelay

log = logging.getLogger("app.worker")


def main() -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    setup_logging(settings.node, settings.log_level)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if settings.worker_metrics_port:
        start_http_server(settings.worker_metrics_port, addr=settings.worker_metrics_address, registry=REGISTRY)
    workers = [OutboxRelay(settings, shard, stop) for shard in sorted(settings.shards)]
    threads = [
        threading.Thread(target=w.run, name=f"relay-{s}", daemon=True)
        for w, s in zip(workers, sorted(settings.shards), strict=True)
    ]
    threads.append(threading.Thread(target=CountersConsumer(settings, stop).run, name="consumer", daemon=True))
    for thread in threads:
        thread.start()
    log.info("worker started: %s", ", ".join(t.name for t in threads))
    stop.wait()
    for thread in threads:
        thread.join(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
