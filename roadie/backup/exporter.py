"""The pgBackRest status exporter: a service of the backup repository host that collects the
backup status every --interval seconds (roadie.backup.collect, as `roadie backup status` does)
and serves the last good collection as Prometheus text on http://ADDRESS:PORT/metrics.

A failed collection does not stop the loop: the last good series stay, so their
pgbackrest_status_collected_timestamp_seconds ages (PgBackRestStatusStale watches it), and
pgbackrest_status_collection_failed turns 1 until a collection succeeds again. The role
pgbackrest runs it as ``python -m roadie.backup.exporter --address 10.1.0.81 --port 9854
--interval 300 --pgbackrest-config /etc/pgbackrest/pgbackrest.conf --db-host 10.1.0.52``;
the primary's password comes from libpq's password file (PGPASSFILE).
"""

import argparse
import ipaddress
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from roadie.backup import pgbackrest, source
from roadie.backup.collect import collect

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class StatusExporter:
    """The last good collection plus the exporter's own account of its collections."""

    def __init__(
        self,
        stanza: str,
        collect_metrics: Callable[[], str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.stanza = stanza
        self._collect = collect_metrics
        self._clock = clock
        self._lock = threading.Lock()
        self._metrics = ""  # series of the last successful collection
        self._attempts = 0
        self._failures = 0
        self._failed = False
        self._last_attempt = 0.0
        self._duration = 0.0
        self.last_error = ""

    def refresh(self) -> bool:
        """Collect once; on failure keep the last good series and count the failure."""
        started = time.monotonic()
        try:
            metrics, error = self._collect(), ""
        except Exception as exc:  # any failure of pgBackRest, PostgreSQL or the parsing
            metrics, error = "", f"{type(exc).__name__}: {exc}".strip()
        duration = time.monotonic() - started
        with self._lock:
            self._attempts += 1
            self._last_attempt = self._clock()
            self._duration = duration
            self._failed = bool(error)
            self.last_error = error
            if error:
                self._failures += 1
            else:
                self._metrics = metrics
        if error:
            print(f"collection of the backup status failed: {error}", file=sys.stderr, flush=True)
        return not error

    def render(self) -> str:
        with self._lock:
            labels = f'stanza="{self.stanza}"'
            own = [
                "# HELP pgbackrest_status_collection_failed 1 when the last collection of the backup status failed"
                " (the other pgbackrest_ series are those of the last success).",
                "# TYPE pgbackrest_status_collection_failed gauge",
                f"pgbackrest_status_collection_failed{{{labels}}} {int(self._failed)}",
                "# HELP pgbackrest_status_collections_total Collections of the backup status attempted.",
                "# TYPE pgbackrest_status_collections_total counter",
                f"pgbackrest_status_collections_total{{{labels}}} {self._attempts}",
                "# HELP pgbackrest_status_collection_failures_total Collections of the backup status that failed.",
                "# TYPE pgbackrest_status_collection_failures_total counter",
                f"pgbackrest_status_collection_failures_total{{{labels}}} {self._failures}",
                "# HELP pgbackrest_status_last_attempt_timestamp_seconds When the last collection was attempted.",
                "# TYPE pgbackrest_status_last_attempt_timestamp_seconds gauge",
                f"pgbackrest_status_last_attempt_timestamp_seconds{{{labels}}} {self._last_attempt:.0f}",
                "# HELP pgbackrest_status_collection_duration_seconds How long the last collection took.",
                "# TYPE pgbackrest_status_collection_duration_seconds gauge",
                f"pgbackrest_status_collection_duration_seconds{{{labels}}} {self._duration:.3f}",
            ]
            return self._metrics + "\n".join(own) + "\n"

    def run(self, interval: float, stop: threading.Event) -> None:
        """Refresh now and then every `interval` seconds (from each start) until `stop` is set."""
        while not stop.is_set():
            started = time.monotonic()
            self.refresh()
            if stop.wait(max(0.0, interval - (time.monotonic() - started))):
                return


class MetricsServer(ThreadingHTTPServer):
    """Serves the exporter's text on /metrics and answers /-/healthy."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], exporter: StatusExporter) -> None:
        super().__init__(address, _Handler)
        self.exporter = exporter


class _Handler(BaseHTTPRequestHandler):
    server: MetricsServer

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._reply(200, self.server.exporter.render().encode(), CONTENT_TYPE)
        elif path in ("/-/healthy", "/-/ready"):
            self._reply(200, b"OK\n")
        else:
            self._reply(404, b"not found: try /metrics\n")

    def _reply(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Scrapes every few seconds would flood the log: only failed requests are logged."""
        if str(getattr(code, "value", code)).startswith(("4", "5")):
            super().log_request(code, size)


def listen_address(value: str) -> str:
    """The host's own address: never a wildcard (0.0.0.0, ::)."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an IP address: {value!r}") from None
    if address.is_unspecified:
        raise argparse.ArgumentTypeError("listen on the host's own address, not on every interface")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--address", type=listen_address, required=True, help="address to listen on (the host's)")
    p.add_argument("--port", type=int, required=True, help="port to listen on (pgbackrest_exporter_port)")
    p.add_argument("--interval", type=float, default=300.0, help="seconds between two collections")
    p.add_argument("--pgbackrest-config", type=Path, required=True, help="pgbackrest.conf of the repository host")
    p.add_argument("--stanza", default="roadie")
    p.add_argument("--pgbackrest-user", default="postgres", help="user pgBackRest runs as (the repository owner)")
    p.add_argument("--pgbackrest-bin", default=pgbackrest.PGBACKREST)
    p.add_argument("--db-host", required=True, help="the primary: HAProxy's read-write address")
    p.add_argument("--db-port", type=int, required=True, help="HAProxy's read-write port (pgbackrest_exporter_db_port)")
    p.add_argument("--db-user", default="exporter", help="login role (pg_monitor); password from PGPASSFILE")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if args.interval <= 0:
        parser().error("--interval must be positive")
    repository = pgbackrest.local_repository(
        args.pgbackrest_config, args.stanza, args.pgbackrest_user, args.pgbackrest_bin
    )
    primary = source.Primary(args.db_host, args.db_port, None, args.db_user)
    exporter = StatusExporter(args.stanza, lambda: collect(repository, primary).metrics())
    server = MetricsServer((args.address, args.port), exporter)
    stop = threading.Event()
    threading.Thread(target=exporter.run, args=(args.interval, stop), name="collector", daemon=True).start()
    print(
        f"pgBackRest status of stanza {args.stanza} every {args.interval:g}s on http://{args.address}:{args.port}/metrics",
        flush=True,
    )
    try:
        server.serve_forever()
    finally:
        stop.set()
        server.server_close()


if __name__ == "__main__":
    main()
