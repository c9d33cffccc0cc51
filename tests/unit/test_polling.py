"""The shared polling loop: returns the condition's value and when it held, treats an
exception as "not yet", and names what it waited for when time runs out."""

import pytest

from roadie.errors import RoadieError
from roadie.polling import poll_until


def test_returns_the_first_truthy_answer_and_when() -> None:
    answers = iter([None, 0, "leader"])
    polled = poll_until(lambda: next(answers), timeout=5, what="a leader", interval=0.01)
    assert polled.value == "leader"
    assert polled.seconds >= 0.02
    assert polled.at > 0


def test_an_exception_means_not_yet() -> None:
    calls = []

    def check() -> bool:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionRefusedError("still starting")
        return True

    assert poll_until(check, timeout=5, what="the service", interval=0.01).value is True
    assert len(calls) == 3


def test_timeout_names_what_and_the_last_answer() -> None:
    def refused() -> bool:
        raise ConnectionRefusedError("port 5432")

    with pytest.raises(RoadieError, match=r"waiting for a primary \(last: ConnectionRefusedError\('port 5432'\)\)"):
        poll_until(refused, timeout=0.05, what="a primary", interval=0.01)
