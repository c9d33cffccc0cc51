"""The workload's thread: the drills' probes and split-brain watcher on their own event
loop, so Chaos Toolkit's activities can run (and block) while requests keep flowing."""

import asyncio
import threading
import time
from dataclasses import dataclass, field

from roadie.drills import runner
from roadie.drills.base import DrillContext
from roadie.drills.endpoints import discover
from roadie.drills.probes import HttpProbe, PgReadProbe, PgWriteProbe, Probe, RedisWriteProbe, new_run_id
from roadie.drills.records import Journal
from roadie.drills.watch import WritablePrimariesWatcher
from roadie.errors import RoadieError
from roadie.lab.inventory import Lab
from roadie.lab.secrets import load_secrets


@dataclass
class Workload:
    ctx: DrillContext
    probes: list[Probe]
    watcher: WritablePrimariesWatcher
    started: float
    deadline: float
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        stop_probes, stop_watch = asyncio.Event(), asyncio.Event()
        tasks = [asyncio.create_task(p.run(stop_probes, self.deadline)) for p in self.probes]
        watch = asyncio.create_task(self.watcher.run(stop_watch))
        while not self.stop.is_set() and time.time() < self.deadline:
            await asyncio.sleep(0.1)
        stop_probes.set()
        stop_watch.set()
        await asyncio.gather(*tasks, watch)

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


_current: Workload | None = None
_lock = threading.Lock()


def start(lab: Lab, duration_s: float, interval_s: float, http_path: str) -> Workload:
    global _current  # noqa: PLW0603 - one workload per chaos process, shared by its activities
    with _lock:
        if _current is not None and _current.running:
            raise RoadieError(f"a workload ({_current.ctx.run_id}) is already running: stop it first")
        the_endpoints, secrets = discover(lab), load_secrets(lab.secrets_file)
        ctx = DrillContext(lab, the_endpoints, secrets, Journal(), new_run_id())
        # The drills' own probe tables, created the same way a drill creates them.
        runner.create_probe_tables(ctx)
        probes: list[Probe] = [
            PgWriteProbe(ctx.journal, interval_s, ctx.pg("primary"), ctx.run_id),
            PgReadProbe(ctx.journal, interval_s, ctx.pg("replicas")),
            RedisWriteProbe(ctx.journal, interval_s, the_endpoints.sentinels, secrets, ctx.run_id),
        ]
        if http_path:
            if the_endpoints.app_lb is None:
                raise RoadieError("the lab has no app load balancer (group 'lb'): is the app deployed?")
            probes.append(HttpProbe(ctx.journal, interval_s, the_endpoints.app_lb + http_path))
        watcher = WritablePrimariesWatcher(ctx.journal, the_endpoints, "app", secrets["postgres_app"])
        now = time.time()
        workload = Workload(ctx, probes, watcher, started=now, deadline=now + duration_s)
        workload.thread = threading.Thread(target=workload.run, name=f"workload-{ctx.run_id}", daemon=True)
        workload.thread.start()
        _current = workload
        return workload


def current() -> Workload:
    if _current is None:
        raise RoadieError("no workload has been started: run the workload's start_workload action first")
    return _current


def stop(timeout_s: float = 10.0) -> Workload:
    workload = current()
    workload.stop.set()
    if workload.thread is not None:
        workload.thread.join(timeout_s)
    return workload
