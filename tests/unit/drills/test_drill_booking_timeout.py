"""Buyers wait past the app's booking retry deadline: a booking the app holds through a
failover is recorded as the answer it gets, not as a timeout of unknown outcome."""

import asyncio

from app.common.settings import TicketSettings
from roadie.drills.probes import REQUEST_TIMEOUT, Probe
from roadie.drills.records import Journal
from roadie.drills.tickets import BOOKING_TIMEOUT_MARGIN_S, BookingProbe, booking_timeout


def test_the_buyers_timeout_follows_the_apps_deadline_and_its_default():
    assert booking_timeout({"tickets": {"booking_retry_deadline_seconds": 40}}) == 40 + BOOKING_TIMEOUT_MARGIN_S
    default = TicketSettings().booking_retry_deadline_seconds
    assert booking_timeout({"tickets": {}}) == default + BOOKING_TIMEOUT_MARGIN_S
    assert booking_timeout({}) == default + BOOKING_TIMEOUT_MARGIN_S
    assert booking_timeout({"tickets": {"booking_retry_deadline_seconds": 0}}) == max(
        REQUEST_TIMEOUT, BOOKING_TIMEOUT_MARGIN_S
    )


def test_a_buyer_waits_as_long_as_it_is_told_over_http_too():
    session = {"X-Session-Id": "s"}
    probe = BookingProbe(
        Journal(), 0.1, base_url="http://127.0.0.1", event_id=1, seats=[1], name="buyer-a", session=session, timeout=30
    )
    assert probe.timeout == 30
    assert probe.client.timeout.read == 30


class SlowAnswer(Probe):
    """A request the service answers after `seconds` (a booking held through an outage)."""

    name = "slow"

    def __init__(self, journal: Journal, seconds: float, timeout: float) -> None:
        super().__init__(journal, interval=0.0)
        self.seconds = seconds
        self.timeout = timeout

    async def attempt(self, key: str) -> None:
        await asyncio.sleep(self.seconds)


def first_completion(seconds: float, timeout: float) -> str:
    journal = Journal()
    probe = SlowAnswer(journal, seconds, timeout)
    stop = asyncio.Event()

    async def one_request() -> None:
        task = asyncio.create_task(probe.run(stop, deadline=float("inf")))
        while not [op for op in journal.history if op.type != "invoke"]:
            await asyncio.sleep(0.01)
        stop.set()
        await task

    asyncio.run(one_request())
    return next(op.type for op in journal.history if op.type != "invoke")


def test_an_answer_slower_than_the_default_timeout_is_ok_within_the_probes_own_timeout():
    assert first_completion(0.2, timeout=1.0) == "ok"
    assert first_completion(0.2, timeout=0.05) == "info"  # what a buyer with too short a timeout records
