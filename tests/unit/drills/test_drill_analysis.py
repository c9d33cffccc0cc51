"""Measurements from a drill journal: outage windows, recovery time, detection."""

from roadie.drills.analysis import first_change, first_departure, summarize_probe
from roadie.drills.records import Journal, Request


def requests(pattern: str, start: float = 100.0, step: float = 1.0) -> list[Request]:
    """One request per character: '.' succeeded, 'x' failed; each takes 0.1 s."""
    return [Request("p", "write", start + i * step, 0.1, ch == ".", key=str(i)) for i, ch in enumerate(pattern)]


def test_outage_spans_from_last_success_to_first_success_after_the_failures():
    summary = summarize_probe(requests("...xxxx..."), fault_at=102.5)
    assert summary.errors == 4
    # last ok answered at 102.1, first ok after failures answered at 107.1
    assert summary.outage_s == 5.0
    assert summary.back_after_fault_s == 4.6


def test_no_failures_means_no_outage():
    summary = summarize_probe(requests("........"), fault_at=103.0)
    assert (summary.errors, summary.outage_s, summary.back_after_fault_s) == (0, 0.0, None)


def test_detection_uses_the_first_departure_and_failover_the_first_new_value():
    journal = Journal()
    journal.event("patroni", "leader", at=99.0, value="db-1")
    journal.event("patroni", "leader", at=110.0, value="none")
    journal.event("patroni", "leader", at=112.0, value="unknown")
    journal.event("patroni", "leader", at=121.0, value="db-2")
    assert first_departure(journal, "patroni", "leader", 100.0).at == 110.0
    assert first_change(journal, "patroni", "leader", 100.0).at == 121.0
