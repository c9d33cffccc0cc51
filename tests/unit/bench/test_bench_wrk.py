"""wrk's figures read from its output (captured from wrk 4.1 on this machine); no wrk: None."""

import pytest

from roadie.bench import wrk
from roadie.errors import RoadieError

OUTPUT = """Running 2s test @ http://127.0.0.1:18777/
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.96ms    2.84ms  21.92ms   87.81%
    Req/Sec     8.37k     8.49k   30.48k    85.00%
  Latency Distribution
     50%  434.00us
     75%    2.59ms
     90%    5.60ms
     99%   13.27ms
  16706 requests in 2.02s, 652.26KB read
  Non-2xx or 3xx responses: 328
  Socket errors: connect 0, read 2, write 0, timeout 1
Requests/sec:   8272.84
Transfer/sec:    323.00KB
"""


def test_wrk_output_is_read_and_failures_are_not_counted_as_answers():
    result = wrk.parse(OUTPUT)
    assert result.requests == 16706 and result.seconds == pytest.approx(2.02)
    assert result.not_ok == 331
    assert result.p99_ms == pytest.approx(13.27)
    assert result.ok_rate == pytest.approx((16706 - 331) / 2.02)
    assert wrk.parse(OUTPUT.replace("13.27ms", "850.00us")).p99_ms == pytest.approx(0.85)


def test_unreadable_output_is_an_error():
    with pytest.raises(RoadieError):
        wrk.parse("unable to connect to 127.0.0.1:18777 Connection refused")


def test_without_wrk_the_cross_check_is_not_measured(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    assert wrk.run("http://127.0.0.1:1/", connections=1, seconds=1) is None
