"""When a DR drill says writes came back: from the probe's own record, the first answer of
the unbroken run of successes that ends it."""

from roadie.dr.run import writes_back_at
from roadie.drills.records import Request


def _requests(outcomes: str, start: float = 100.0) -> list[Request]:
    return [Request("dns-write", "write", start + i, 0.5, ok == "+") for i, ok in enumerate(outcomes)]


def test_back_at_the_first_answer_of_the_final_run_of_successes() -> None:
    # sent at 100..109: two before the fault (t=101.5), errors, a lone success, errors, then 5 successes.
    assert writes_back_at(_requests("++--+--+++++"), "dns-write", 101.5) == 107.5


def test_not_back_while_the_final_run_is_shorter_than_five() -> None:
    assert writes_back_at(_requests("++---++++"), "dns-write", 101.5) is None


def test_other_probes_do_not_count() -> None:
    other = [Request("db-read", "read", 103.0 + i, 0.1, True) for i in range(10)]
    assert writes_back_at(_requests("++---") + other, "dns-write", 101.5) is None
