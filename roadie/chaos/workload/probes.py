"""Measurements of the background workload: error rate and latency over a window, the
whole run's per-probe summary, acknowledged writes lost, and writable primaries."""

import time

from chaoslib.types import Configuration, Secrets

from roadie.chaos.context import DAMAGE
from roadie.chaos.workload import background
from roadie.drills import finals
from roadie.drills.analysis import by_probe, summarize_probe
from roadie.drills.records import Request
from roadie.errors import RoadieError

__all__ = [
    "acknowledged_writes_lost",
    "error_rate",
    "p95_latency_ms",
    "summary",
    "wait_for_writes",
    "wait_until_settled",
    "writable_primaries",
]

RECOVERED_AFTER = 5  # consecutive successful writes per probe that count as "writes are back"


def _window(window_s: float) -> list[Request]:
    """The requests sent during the next `window_s` seconds (a fresh measurement, so errors
    from before the call, e.g. during a fault already recovered from, do not count)."""
    workload = background.current()
    if not workload.running:
        raise RoadieError(f"the workload {workload.ctx.run_id} is not running: start it before measuring")
    begin = time.time()
    end = begin + window_s
    # Measuring over a fixed window is the point here, not waiting for readiness.
    time.sleep(window_s + 2 * max(p.interval for p in workload.probes))
    requests = [r for r in list(workload.ctx.journal.requests) if begin <= r.sent < end]
    if not requests:
        raise RoadieError(f"the workload {workload.ctx.run_id} sent no request in {window_s}s")
    return requests


def error_rate(
    window_s: float = 3.0, configuration: Configuration | None = None, secrets: Secrets | None = None
) -> float:
    """The fraction of the workload's requests (all probes) that failed during the next
    `window_s` seconds: 0.0 .. 1.0."""
    requests = _window(window_s)
    return sum(1 for r in requests if not r.ok) / len(requests)


def p95_latency_ms(
    window_s: float = 3.0, configuration: Configuration | None = None, secrets: Secrets | None = None
) -> float:
    """The 95th percentile latency (ms) of the workload's successful requests during the
    next `window_s` seconds."""
    requests = _window(window_s)
    ok = [r for r in requests if r.ok]
    if not ok:
        raise RoadieError(f"no request of the workload succeeded in {window_s}s")
    return summarize_probe(ok, ok[0].sent).p95_ms or 0.0


def wait_for_writes(
    timeout_s: float = 60.0, configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, float | None]:
    """Wait until every write probe has succeeded 5 times in a row since the latest fault
    (or since this call, without one). Returns the seconds waited and, per write probe,
    when its writes came back counted from the fault (the first write of that streak)."""
    workload = background.current()
    began = time.time()
    since = DAMAGE.fault_at or began
    writers = sorted(p.name for p in workload.probes if p.kind == "write")
    while time.time() - began < timeout_s:
        requests = list(workload.ctx.journal.requests)
        recent = {w: [r for r in requests if r.probe == w and r.sent >= since][-RECOVERED_AFTER:] for w in writers}
        if all(len(rs) == RECOVERED_AFTER and all(r.ok for r in rs) for rs in recent.values()):
            back = {f"{w} back after fault_s": _back_after(requests, w, since) for w in writers}
            return {"waited_s": round(time.time() - began, 2), **back}
        time.sleep(0.1)
    raise RoadieError(f"writes of {', '.join(writers)} not back {timeout_s:.0f}s after the fault")


def wait_until_settled(
    clean_s: float = 5.0,
    timeout_s: float = 60.0,
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> float:
    """Wait until every probe (reads too) has gone `clean_s` seconds without an error: the
    failover's after-effects (HAProxy dropping sessions to a member whose role changed) are
    over, so the steady state measured next is the recovered platform's. Returns the seconds waited."""
    workload = background.current()
    began = time.time()
    while time.time() - began < timeout_s:
        now = time.time()
        requests = list(workload.ctx.journal.requests)
        failures = [r.sent for r in requests if not r.ok]
        last_failure = max(failures, default=0.0)
        if now - max(last_failure, began - clean_s) >= clean_s and now - workload.started >= clean_s:
            return round(now - began, 2)
        time.sleep(0.1)
    raise RoadieError(f"the workload still saw errors {timeout_s:.0f}s later (none for {clean_s:.0f}s in a row)")


def _back_after(requests: list[Request], probe: str, since: float) -> float | None:
    """Fault -> answer of the first success after the probe's last failure (None: never failed)."""
    mine = sorted((r for r in requests if r.probe == probe and r.sent >= since), key=lambda r: r.sent)
    failed = [r for r in mine if not r.ok]
    if not failed:
        return None
    first_ok = next(r for r in mine if r.ok and r.sent >= failed[-1].sent)
    return round(first_ok.answered - since, 3)


def summary(configuration: Configuration | None = None, secrets: Secrets | None = None) -> dict[str, object]:
    """The whole run so far, per probe: requests, errors, error rate, longest outage and
    p50/p95/p99 latency, plus the most writable primaries seen at once."""
    workload = background.current()
    journal = workload.ctx.journal
    return {
        "run_id": workload.ctx.run_id,
        "duration_s": round(time.time() - workload.started, 1),
        "fault_after_s": None if DAMAGE.fault_at is None else round(DAMAGE.fault_at - workload.started, 2),
        "probes": {name: summarize_probe(reqs, workload.started).as_dict() for name, reqs in by_probe(journal).items()},
        "most_writable_primaries": workload.watcher.max_writable,
    }


def acknowledged_writes_lost(configuration: Configuration | None = None, secrets: Secrets | None = None) -> int:
    """Acknowledged database and Redis writes of the workload that the cluster no longer has
    (asked from the current primary and master): must be 0 for in-region faults."""
    workload = background.current()
    lost = finals.lost_writes(workload.ctx, workload.probes)
    return sum(lost.values())


def writable_primaries(configuration: Configuration | None = None, secrets: Secrets | None = None) -> int:
    """The most PostgreSQL members that acknowledged a direct write at the same moment
    since the workload started: 2 would be split brain."""
    return background.current().watcher.max_writable
