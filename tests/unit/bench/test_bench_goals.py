"""Goal verdicts: met, missed, and not measured (never met by a missing figure)."""

from roadie.bench.goals import Verdict, at_least, below, fmt, ratio, share_of


def test_ratios_of_missing_or_zero_baselines_are_not_measured():
    assert ratio(100.0, 400.0) == 0.25
    assert ratio(None, 400.0) is None
    assert ratio(100.0, 0.0) is None
    assert ratio(0.0, 400.0) == 0.0


def test_verdicts():
    assert at_least(0.6, 0.5) is Verdict.MET
    assert at_least(0.0, 0.5) is Verdict.MISSED  # all 409s: 0 confirmed bookings/s
    assert at_least(None, 0.5) is Verdict.NOT_MEASURED
    assert below(199.9, 200) is Verdict.MET
    assert below(200.0, 200) is Verdict.MISSED
    assert below(None, 200) is Verdict.NOT_MEASURED


def test_open_loop_rate_needs_a_measured_maximum():
    assert share_of(1000.0) == 700.0
    assert share_of(0.0) is None
    assert share_of(None) is None


def test_a_missing_figure_prints_not_measured_never_zero():
    assert fmt(None) == "not measured"
    assert fmt(0.0) == "0"
    assert fmt(12.345, ".1f", " ms") == "12.3 ms"
