"""What a drill records: every probe request (as a latency record and as the invocation and
completion of an operation in the history the checkers read), every split-brain sample, and
every change the watchers saw."""

import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from roadie.checker.history import Clock, Op, Sample


@dataclass(frozen=True)
class Request:
    """One probe request: when it was sent, how long it took, and how it ended."""

    probe: str
    kind: str  # "write" or "read"
    sent: float
    latency: float
    ok: bool
    key: str = ""
    error: str = ""

    @property
    def answered(self) -> float:
        return self.sent + self.latency


@dataclass(frozen=True)
class Event:
    """Something the watchers or the drill itself observed at a point in time."""

    at: float
    source: str
    what: str
    detail: dict[str, Any] = field(default_factory=dict)


class Journal:
    """Thread-safe append-only store of requests, operations, samples and events for one drill run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clock = Clock.now()
        self.requests: list[Request] = []
        self.history: list[Op] = []
        self.samples: list[Sample] = []
        self.events: list[Event] = []

    def request(self, item: Request) -> None:
        with self._lock:
            self.requests.append(item)

    def op(self, item: Op) -> None:
        with self._lock:
            self.history.append(item)

    def sample(self, items: list[Sample]) -> None:
        with self._lock:
            self.samples.extend(items)

    def event(self, source: str, what: str, at: float | None = None, **detail: Any) -> Event:
        item = Event(at if at is not None else time.time(), source, what, detail)
        with self._lock:
            self.events.append(item)
        return item

    def first_event(self, source: str, what: str, after: float = 0.0) -> Event | None:
        matches = [e for e in self.events if e.source == source and e.what == what and e.at >= after]
        return min(matches, key=lambda e: e.at) if matches else None

    def as_dict(self) -> dict[str, list[dict[str, Any]]]:
        return {
            "requests": [asdict(r) for r in self.requests],
            "history": [asdict(o) for o in self.history],
            "samples": [asdict(s) for s in self.samples],
            "events": [asdict(e) for e in sorted(self.events, key=lambda e: e.at)],
        }
