"""A probe journals every request as an invocation and one completion, typed by outcome."""

import asyncio
import time

from roadie.drills.outcomes import NotSent, Refused
from roadie.drills.probes import Probe
from roadie.drills.records import Journal


class ScriptedProbe(Probe):
    """Answers from a script: None acknowledges, an exception fails the request."""

    name = "scripted"

    def __init__(self, journal: Journal, script: list[BaseException | None]) -> None:
        super().__init__(journal, interval=0.0)
        self.script = script

    async def attempt(self, key: str) -> None:
        answer = self.script[self.counter - 1]
        if answer is not None:
            raise answer


def test_each_request_is_an_invocation_then_ok_fail_or_info() -> None:
    journal = Journal()
    probe = ScriptedProbe(journal, [None, Refused("409"), NotSent("refused"), ConnectionResetError("lost")])
    stop = asyncio.Event()

    async def run() -> None:
        task = asyncio.create_task(probe.run(stop, time.time() + 5))
        while len(journal.history) < 8:
            await asyncio.sleep(0.001)
        stop.set()
        await task

    asyncio.run(run())
    history = journal.history[:8]
    assert [o.type for o in history] == ["invoke", "ok", "invoke", "fail", "invoke", "fail", "invoke", "info"]
    assert [o.value.key for o in history[::2]] == ["scripted-0", "scripted-1", "scripted-2", "scripted-3"]
    assert all(o.latency >= 0 and o.workload == "scripted" and o.f == "write" for o in history)
    assert history[1].at >= history[0].at and history[7].error.startswith("ConnectionResetError")
    # The latency records keep their meaning: a correct refusal is an answered request.
    assert [r.ok for r in journal.requests[:4]] == [True, True, False, False]
    assert probe.acked == ["scripted-0"]
