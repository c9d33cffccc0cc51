"""The lab's Alertmanager receiver: records every webhook notification as one JSON line.

Production sends notifications to a chat webhook; the lab has no chat, so Alertmanager's
receivers post to this server instead and `roadie alerts` reads what it recorded. Run as
``python -m roadie.alerts.recorder --address 127.1.0.61 --port 9095 --file notifications.jsonl``.
"""

import argparse
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MAX_BODY = 1_000_000


class Recorder(ThreadingHTTPServer):
    """An HTTP server that appends each POSTed notification to a JSON-lines file."""

    def __init__(self, address: tuple[str, int], file: Path) -> None:
        super().__init__(address, _Handler)
        self.file = file
        self.lock = threading.Lock()

    def record(self, receiver_path: str, payload: object) -> None:
        line = json.dumps(
            {"received_at": datetime.now(UTC).isoformat(), "path": receiver_path, "notification": payload},
            sort_keys=True,
        )
        with self.lock, self.file.open("a") as handle:
            handle.write(line + "\n")


class _Handler(BaseHTTPRequestHandler):
    server: Recorder

    def do_GET(self) -> None:
        healthy = self.path in ("/-/healthy", "/-/ready")
        self._reply(200 if healthy else 404, b"OK\n" if healthy else b"not found\n")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length <= 0 or length > MAX_BODY:
            self._reply(400, b"body missing or too large\n")
            return
        try:
            payload = json.loads(self.rfile.read(length))
        except ValueError:
            self._reply(400, b"body is not JSON\n")
            return
        self.server.record(self.path, payload)
        self._reply(200, b"recorded\n")

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        print(f"{self.address_string()} {format % args}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", required=True, help="address to listen on (the host's address)")
    parser.add_argument("--port", type=int, required=True, help="port to listen on (alert_recorder_port)")
    parser.add_argument("--file", type=Path, required=True, help="JSON-lines file notifications are appended to")
    args = parser.parse_args(argv)
    args.file.parent.mkdir(parents=True, exist_ok=True)
    server = Recorder((args.address, args.port), args.file)
    print(f"recording Alertmanager notifications on {args.address}:{args.port} to {args.file}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
