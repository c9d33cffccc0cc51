"""A fake HTTP service for the clients' tests (Patroni, etcd, HAProxy and RabbitMQ do not run
here): a real server on a free loopback port answering canned (status, body) per method and path."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from roadie.services.registry import Endpoint

Routes = dict[tuple[str, str], tuple[int, object]]


class _Handler(BaseHTTPRequestHandler):
    server: "FakeService"

    def _answer(self, method: str) -> None:
        self.server.requests.append((method, self.path, dict(self.headers)))
        status, body = self.server.routes.get((method, self.path), (404, "no such path"))
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._answer("POST")

    def log_message(self, *args: object) -> None:
        """Quiet."""


class FakeService(ThreadingHTTPServer):
    def __init__(self, routes: Routes) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes = routes
        self.requests: list[tuple[str, str, dict[str, str]]] = []

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint("127.0.0.1", self.server_address[1])


@contextmanager
def serving(routes: Routes) -> Iterator[FakeService]:
    server = FakeService(routes)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def closed_endpoint() -> Endpoint:
    """An address nothing listens on (a member that is down)."""
    server = FakeService({})
    endpoint = server.endpoint
    server.server_close()
    return endpoint
