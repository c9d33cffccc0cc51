"""Turn a drill's journal into measurements: unavailability windows, error rates,
latency percentiles and detection times."""

from dataclasses import asdict, dataclass
from statistics import quantiles

from roadie.drills.records import Event, Journal, Request


@dataclass(frozen=True)
class ProbeSummary:
    probe: str
    kind: str
    requests: int
    errors: int
    error_rate: float
    outage_s: float  # last success before the first failure -> first success after the last one
    back_after_fault_s: float | None  # fault -> first successful answer after the failures
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None  # the slowest request, answered or not

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def summarize_probe(requests: list[Request], fault_at: float) -> ProbeSummary:
    ordered = sorted(requests, key=lambda r: r.sent)
    failures = [r for r in ordered if not r.ok]
    latencies = sorted(r.latency * 1000 for r in ordered if r.ok)
    outage, back = 0.0, None
    if failures:
        first_fail, last_fail = failures[0], failures[-1]
        before = [r for r in ordered if r.ok and r.answered <= first_fail.sent]
        after = [r for r in ordered if r.ok and r.sent >= last_fail.sent]
        start = before[-1].answered if before else ordered[0].sent
        end = after[0].answered if after else ordered[-1].answered
        outage = max(0.0, end - start)
        back = (after[0].answered - fault_at) if after else None
    return ProbeSummary(
        probe=ordered[0].probe if ordered else "?",
        kind=ordered[0].kind if ordered else "?",
        requests=len(ordered),
        errors=len(failures),
        error_rate=len(failures) / len(ordered) if ordered else 0.0,
        outage_s=round(outage, 3),
        back_after_fault_s=None if back is None else round(back, 3),
        p50_ms=_pct(latencies, 50),
        p95_ms=_pct(latencies, 95),
        p99_ms=_pct(latencies, 99),
        max_ms=round(max(r.latency for r in ordered) * 1000, 1) if ordered else None,
    )


def _pct(values: list[float], pct: int) -> float | None:
    if len(values) < 2:
        return round(values[0], 1) if values else None
    return round(quantiles(values, n=100, method="inclusive")[pct - 1], 1)


def by_probe(journal: Journal) -> dict[str, list[Request]]:
    grouped: dict[str, list[Request]] = {}
    for request in journal.requests:
        grouped.setdefault(request.probe, []).append(request)
    return grouped


def value_at(journal: Journal, source: str, what: str, at: float) -> object:
    """The watched value in force at a moment (the last change at or before it)."""
    before = [e for e in journal.events if e.source == source and e.what == what and e.at <= at]
    return max(before, key=lambda e: e.at).detail.get("value") if before else None


def first_change(journal: Journal, source: str, what: str, fault_at: float) -> Event | None:
    """The first known new value after the fault: when the system noticed and acted."""
    old = value_at(journal, source, what, fault_at)
    changes = sorted(
        (e for e in journal.events if e.source == source and e.what == what and e.at > fault_at),
        key=lambda e: e.at,
    )
    for event in changes:
        value = event.detail.get("value")
        if value not in (old, "unknown", "none", ()):
            return event
    return None


def first_departure(journal: Journal, source: str, what: str, fault_at: float) -> Event | None:
    """The first time the watched value moved away from its pre-fault value (including to
    "none"): the moment that part of the system noticed the fault."""
    old = value_at(journal, source, what, fault_at)
    changes = sorted(
        (e for e in journal.events if e.source == source and e.what == what and e.at > fault_at),
        key=lambda e: e.at,
    )
    return next((e for e in changes if e.detail.get("value") not in (old, "unknown")), None)


def seconds_after(event: Event | None, fault_at: float) -> float | None:
    return None if event is None else round(event.at - fault_at, 3)
