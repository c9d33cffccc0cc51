"""The checker fails when it must: hand-written histories, each with one anomaly, and a clean
one that passes. Times are seconds; the fault is at t=10 and recovery at t=20."""

from roadie.checker.drill import FinalReads, check_drill
from roadie.checker.history import BOOK, CANCEL, READ, WRITE, Op, OpValue, Sample
from roadie.checker.seats import LiveBooking
from roadie.checker.splitbrain import MAX_UNKNOWN_SHARE
from roadie.checker.verdict import (
    APPLIED_AFTER_FAIL,
    BLIND,
    LOST,
    NEVER_SAW_PRIMARY,
    NOT_RECOVERED,
    SOLD_TWICE_HISTORY,
    SOLD_TWICE_STATE,
    TOO_FEW_AFTER_RECOVERY,
    TOO_FEW_BEFORE_FAULT,
    TWO_ANSWERS_ONE_KEY,
    TWO_PRIMARIES,
    UNEXPECTED,
)

FAULT, RECOVERED, WAITED = 10.0, 20.0, 90.0
MEMBERS = ("db-1", "db-2", "db-3")


def op(process: str, f: str, at: float, outcome: str, workload: str = "", **value: object) -> list[Op]:
    """An invocation at `at` and its completion 0.1 s later."""
    v = OpValue(**value)  # type: ignore[arg-type]
    name = workload or process
    return [
        Op(process, name, f, "invoke", at, value=v),
        Op(process, name, f, outcome, at + 0.1, latency=0.1, value=v),  # type: ignore[arg-type]
    ]


def writes(pattern: str, start: float = 0.0, process: str = "db-write") -> list[Op]:
    """One write a second per character: '.' ok, 'x' fail, '?' info; keys are w0, w1, ..."""
    outcome = {".": "ok", "x": "fail", "?": "info"}
    return [o for i, ch in enumerate(pattern) for o in op(process, WRITE, start + i, outcome[ch], key=f"w{i}")]


# 10 ok before the fault, an outage (fail and info), back at 14, 10 ok after recovery at 20.
CLEAN_WRITES = "." * 10 + "xx??" + "." * 16


def acked_keys(history: list[Op]) -> frozenset[str]:
    return frozenset(o.value.key for o in history if o.type == "ok" and o.f == WRITE)


def bookings(start: float = 0.0, count: int = 30) -> list[Op]:
    """Two buyers racing for seats 1..count: buyer-a wins each seat, buyer-b gets a 409."""
    history = []
    for i in range(count):
        seat, at = i + 1, start + i
        history += op("buyer-a", BOOK, at, "ok", "bookings", seats=(seat,), idempotency_key=f"a{i}", booking=100 + i)
        history += op("buyer-b", BOOK, at, "fail", "bookings", seats=(seat,), idempotency_key=f"b{i}")
    return history


def live(count: int = 30) -> tuple[LiveBooking, ...]:
    return tuple(LiveBooking(100 + i, (i + 1,)) for i in range(count))


def rounds(states: list[tuple[str, str, str]], start: float = 0.0) -> list[Sample]:
    """One sampler round a second, a state per member."""
    return [
        Sample(start + i, member, state)  # type: ignore[arg-type]
        for i, round_states in enumerate(states)
        for member, state in zip(MEMBERS, round_states, strict=True)
    ]


PRIMARY_DB1 = ("writable", "not writable", "not writable")
PRIMARY_DB2 = ("not writable", "writable", "not writable")
CLEAN_SAMPLES = rounds([PRIMARY_DB1] * 10 + [("not writable",) * 3] * 4 + [PRIMARY_DB2] * 16)


def check(history: list[Op], *, elements=None, live_bookings=(), samples=CLEAN_SAMPLES, recovered_at=RECOVERED):
    elements = elements if elements is not None else {"db-write": acked_keys(history)}
    if any(o.workload == "bookings" for o in history) and "bookings" not in elements:
        elements = {**elements, "bookings": frozenset(f"a{i}" for i in range(30))}
    return check_drill(
        history,
        samples,
        FinalReads(elements, tuple(live_bookings)),
        fault_at=FAULT,
        recovered_at=recovered_at,
        waited_s=WAITED,
    )


def anomalies(result) -> set[tuple[str, str, str]]:
    return {(v.checker, v.workload, a.kind) for v in result.verdicts() for a in v.anomalies}


def test_a_clean_history_passes_every_checker() -> None:
    result = check(writes(CLEAN_WRITES) + bookings(), live_bookings=live())
    assert anomalies(result) == set()
    assert result.valid
    checkers = {(v.checker, v.workload) for v in result.verdicts()}
    assert ("set", "bookings") in checkers and ("per seat", "bookings") in checkers
    assert ("split brain", "postgres") in checkers


def test_a_lost_acknowledgement_is_reported_lost() -> None:
    history = writes(CLEAN_WRITES)
    result = check(history, elements={"db-write": acked_keys(history) - {"w3"}})
    assert anomalies(result) == {("set", "db-write", LOST)}
    assert result.sets[0].lost == ("w3",)


def test_a_row_never_invoked_is_unexpected() -> None:
    history = writes(CLEAN_WRITES)
    result = check(history, elements={"db-write": acked_keys(history) | {"w999"}})
    assert anomalies(result) == {("set", "db-write", UNEXPECTED)}
    assert result.sets[0].unexpected == ("w999",)


def test_an_unknown_write_found_applied_is_recovered_and_a_failed_one_is_an_anomaly() -> None:
    history = writes(CLEAN_WRITES)
    result = check(history, elements={"db-write": acked_keys(history) | {"w12"}})  # w12 was '?'
    assert anomalies(result) == set()
    assert result.sets[0].recovered == ("w12",)
    result = check(history, elements={"db-write": acked_keys(history) | {"w10"}})  # w10 was 'x'
    assert anomalies(result) == {("set", "db-write", APPLIED_AFTER_FAIL)}


def test_a_double_sale_in_the_final_state_is_reported() -> None:
    state = (*live(), LiveBooking(999, (7,)))
    result = check(bookings(), live_bookings=state)
    assert anomalies(result) == {("per seat", "bookings", SOLD_TWICE_STATE)}
    assert result.seats[0].sold_twice_state == (7,)


def test_a_double_sale_in_the_history_is_reported_although_the_database_shows_one() -> None:
    history = bookings()
    history += op("buyer-b", BOOK, 40.0, "ok", "bookings", seats=(7,), idempotency_key="b-late", booking=999)
    result = check(
        history, live_bookings=live(), elements={"bookings": frozenset({*(f"a{i}" for i in range(30)), "b-late"})}
    )
    assert anomalies(result) == {("per seat", "bookings", SOLD_TWICE_HISTORY)}
    assert result.seats[0].sold_twice_history == (7,)


def test_a_seat_sold_again_after_an_acknowledged_cancel_is_no_double_sale() -> None:
    history = bookings()
    history += op("buyer-a", CANCEL, 40.0, "ok", "bookings", seats=(7,), booking=106)
    history += op("buyer-b", BOOK, 41.0, "ok", "bookings", seats=(7,), idempotency_key="b-late", booking=999)
    elements = {"bookings": frozenset({*(f"a{i}" for i in range(30)), "b-late"})}
    result = check(history, live_bookings=live(), elements=elements)
    assert anomalies(result) == set()


def test_two_answers_for_one_idempotency_key_are_reported() -> None:
    history = bookings()
    history += op("buyer-a", BOOK, 40.0, "ok", "bookings", seats=(31,), idempotency_key="a3", booking=555)
    result = check(history, live_bookings=live())
    # The retry also named seat 31, which no other booking holds: only the key is wrong.
    assert anomalies(result) == {("idempotency", "bookings", TWO_ANSWERS_ONE_KEY)}
    assert result.idempotency[0].conflicting == (("a3", (103, 555)),)


def test_a_probe_that_never_recovered_fails_the_drill_and_is_not_a_zero() -> None:
    result = check(writes("." * 10 + "x" * 20), recovered_at=None)
    assert anomalies(result) == {("lower bounds", "db-write", NOT_RECOVERED)}
    bound = result.bounds[0]
    assert bound.ok_after_recovery is None
    assert "not recovered after 90 s" in bound.verdict().anomalies[0].detail
    assert "after recovery not measured" in bound.verdict().summary


def test_a_probe_with_no_ok_before_the_fault_fails_the_drill() -> None:
    result = check(writes("x" * 10 + "." * 20))
    assert anomalies(result) == {("lower bounds", "db-write", TOO_FEW_BEFORE_FAULT)}


def test_a_probe_with_too_few_ok_after_recovery_fails_the_drill() -> None:
    history = writes(CLEAN_WRITES) + [o for i in range(10) for o in op("db-read", READ, i, "ok")]
    result = check(history)
    assert anomalies(result) == {("lower bounds", "db-read", TOO_FEW_AFTER_RECOVERY)}


def test_a_blind_watcher_fails_the_drill() -> None:
    blind = rounds([("unknown",) * 3] * 30)
    result = check(writes(CLEAN_WRITES), samples=blind)
    assert anomalies(result) == {("split brain", "postgres", BLIND)}
    assert result.split_brain.max_writable == 0


def test_a_few_unknown_samples_are_reported_but_pass() -> None:
    states = [PRIMARY_DB1] * 29 + [("writable", "unknown", "not writable")]
    result = check(writes(CLEAN_WRITES), samples=rounds(states))
    assert MAX_UNKNOWN_SHARE >= 1 / 90  # one unknown of 90 samples is within the share
    assert anomalies(result) == set()
    assert "1 unknown (db-2)" in result.split_brain.verdict().summary


def test_a_sampler_that_never_saw_a_primary_fails_the_drill() -> None:
    result = check(writes(CLEAN_WRITES), samples=rounds([("not writable",) * 3] * 30))
    assert anomalies(result) == {("split brain", "postgres", NEVER_SAW_PRIMARY)}


def test_two_writable_primaries_in_one_round_are_a_split_brain() -> None:
    states = [PRIMARY_DB1] * 15 + [("writable", "writable", "not writable")] + [PRIMARY_DB2] * 14
    result = check(writes(CLEAN_WRITES), samples=rounds(states))
    assert anomalies(result) == {("split brain", "postgres", TWO_PRIMARIES)}
    assert result.split_brain.max_writable == 2


def test_without_a_sampler_split_brain_is_not_measured() -> None:
    result = check(writes(CLEAN_WRITES), samples=None)
    assert result.split_brain is None
    assert "split brain" not in {v.checker for v in result.verdicts()}


def test_the_write_gap_runs_from_the_last_ok_before_to_the_first_ok_after() -> None:
    availability = check(writes(CLEAN_WRITES)).availability[0]
    # ok writes complete at 9.1 and 14.1 around the outage.
    assert (availability.write_gap_s, availability.gap_from, availability.gap_to) == (5.0, 9.1, 14.1)
    assert (availability.ok, availability.fail, availability.info) == (26, 2, 2)


def test_a_write_gap_with_fewer_than_two_oks_is_not_measured() -> None:
    availability = check(writes("x" * 30), recovered_at=None).availability[0]
    assert availability.write_gap_s is None
    assert "gap not measured" in availability.verdict().summary
