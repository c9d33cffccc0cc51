"""What the DR drills share: the run's context, named moments, the probe workload around
a scenario, the sampler of both regions, and the report."""

import asyncio
import contextlib
import itertools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from roadie.dr import cluster
from roadie.dr.dns import FailoverDns
from roadie.dr.probe import PROBE_DDL, DnsWriteProbe
from roadie.dr.topology import Topology, discover
from roadie.drills.alerts import drill_alerts
from roadie.drills.analysis import summarize_probe
from roadie.drills.contract import Check, Drill, DrillResult, Figure, figures
from roadie.drills.probes import PROBE_TABLE
from roadie.drills.records import Journal, Request
from roadie.drills.report import write_report
from roadie.lab.inventory import Lab
from roadie.lab.secrets import load_secrets
from roadie.services import registry

PROBE_INTERVAL = 0.05
BASELINE_S = 5.0
SETTLE_S = 3.0
RECOVERY_TIMEOUT_S = 180.0
HARD_LIMIT_S = 600.0
SAMPLE_S = 0.5


@dataclass
class DrRun:
    """One DR drill run: where everything is, what it recorded, and when things happened."""

    name: str
    lab: Lab
    topology: Topology
    dns: FailoverDns
    secrets: dict[str, str]
    journal: Journal = field(default_factory=Journal)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    marks: dict[str, float] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.time)

    def mark(self, what: str, at: float | None = None, **detail: Any) -> float:
        moment = at if at is not None else time.time()
        self.marks[what] = moment
        self.journal.event("drill", what, at=moment, **detail)
        return moment

    def since(self, start: str, end: str) -> float | None:
        if start not in self.marks or end not in self.marks:
            return None
        return round(self.marks[end] - self.marks[start], 2)

    def probe(self) -> DnsWriteProbe:
        return DnsWriteProbe(
            self.journal,
            PROBE_INTERVAL,
            self.dns,
            port=self.topology.pg_lb_port,
            password=self.secrets["postgres_app"],
            run_id=self.run_id,
        )


def new_run(name: str, lab: Lab) -> DrRun:
    topology = discover(lab)
    return DrRun(
        name, lab, topology, FailoverDns(topology.dns_names(), topology.dns_endpoint), load_secrets(lab.secrets_file)
    )


def connect_primary(run: DrRun, region: int) -> psycopg.Connection[Any]:
    pg_lb = run.topology.region(region).pg_lb
    assert pg_lb is not None
    return psycopg.connect(
        host=pg_lb[0],
        port=pg_lb[1],
        user="app",
        password=run.secrets["postgres_app"],
        dbname="app",
        connect_timeout=5,
        autocommit=True,
    )


def ensure_probe_table(run: DrRun, region: int) -> None:
    with connect_primary(run, region) as conn:
        conn.execute(PROBE_DDL)


def present_keys(run: DrRun, region: int) -> set[str]:
    with connect_primary(run, region) as conn:
        rows = conn.execute(f"select key from {PROBE_TABLE} where run_id = %s", (run.run_id,)).fetchall()
    return {str(r[0]) for r in rows}


def with_probe(run: DrRun, scenario: Callable[[DrRun], None], fault: str) -> DnsWriteProbe:
    """Run the probe workload and a sampler of both regions around the scenario; return
    once writes succeed again (5 in a row after the moment named `fault`) plus a settle."""
    return asyncio.run(_observe(run, scenario, fault))


async def _observe(run: DrRun, scenario: Callable[[DrRun], None], fault: str) -> DnsWriteProbe:
    stop = asyncio.Event()
    probe = run.probe()
    deadline = time.time() + HARD_LIMIT_S
    tasks = [asyncio.create_task(probe.run(stop, deadline)), asyncio.create_task(_sample(run, stop))]
    await asyncio.sleep(BASELINE_S)
    try:
        await asyncio.to_thread(scenario, run)
        waited = time.monotonic()
        while time.monotonic() - waited < RECOVERY_TIMEOUT_S:
            back_at = writes_back_at(run.journal.requests, probe.name, run.marks.get(fault, time.time()))
            if back_at is not None:
                run.mark("writes back", back_at)
                break
            await asyncio.sleep(0.2)
        else:
            run.mark("writes not back", waited_s=RECOVERY_TIMEOUT_S)
        await asyncio.sleep(SETTLE_S)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    return probe


def writes_back_at(requests: list[Request], probe: str, fault_at: float) -> float | None:
    """When writes came back for good: the answer to the first write of the unbroken run of
    successes that ends the record (at least 5 long); None while that run is shorter.
    Measured from the probe, not from when a step of the scenario finished."""
    after = [r for r in requests if r.probe == probe and r.sent > fault_at]
    streak = list(itertools.takewhile(lambda r: r.ok, reversed(after)))
    return streak[-1].answered if len(streak) >= 5 else None


async def _sample(run: DrRun, stop: asyncio.Event) -> None:
    """Record changes of the DNS answer and of each reachable region's leader role."""
    last: dict[str, Any] = {}
    while not stop.is_set():
        values: dict[str, Any] = {}
        try:
            values["dns active region"] = await asyncio.to_thread(run.dns.active_region)
        except Exception as exc:
            values["dns active region"] = f"error {type(exc).__name__}"
        for number, region in run.topology.regions.items():
            values[f"region {number} leader"] = await asyncio.to_thread(cluster.leader_role, region) or "none"
        for what, value in values.items():
            if last.get(what) != value:
                run.journal.event("sampler", what, value=value)
                last[what] = value
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), SAMPLE_S)


def dr_app_programs(run: DrRun, region: int) -> list[tuple[str, str]]:
    """(host, program) of the app tier installed in a region (empty when not deployed)."""
    found = []
    for host in run.topology.region(region).app_hosts:
        for entry in registry.services(host):
            if entry.name.startswith("roadie-app"):
                found.append((host.name, entry.name))
    return found


def result(
    run: DrRun,
    probe: DnsWriteProbe,
    drill: type[Drill],
    *,
    reports: Path,
    fault: str,
    checks: list[Check],
    measured: dict[str, Figure],
) -> DrillResult:
    """The run's result: its figures checked against the drill's declaration, its checks, and
    the DR report's sections (steps, facts, the probe, the timeline, the alerts)."""
    fault_at = run.marks[fault]
    summary = summarize_probe([r for r in run.journal.requests if r.probe == probe.name], fault_at)
    timeline = [
        {"t": round(e.at - fault_at, 2), "source": e.source, "what": e.what, "value": e.detail.get("value", e.detail)}
        for e in sorted(run.journal.events, key=lambda e: e.at)
    ]
    colors = ["red", "orange", "purple", "green", "blue", "brown", "black", "gray"]
    markers = [
        {"t": at - fault_at, "label": what, "color": colors[i % len(colors)]}
        for i, (what, at) in enumerate(sorted(run.marks.items(), key=lambda kv: kv[1]))
        if at >= fault_at and what != fault  # the report draws the fault itself
    ]
    directory = reports / f"{run.name}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime(run.started))}"
    details = {
        "run_id": run.run_id,
        "fault_at": fault_at,
        "fault": fault,
        "probes": [summary.as_dict()],
        "timeline": timeline,
        "markers": markers,
        "marks": {k: round(v - fault_at, 3) for k, v in run.marks.items()},
        "facts": run.facts,
        "endpoints_used": probe.endpoints_used,
        "alerts": drill_alerts(run.lab, run.started, time.time(), run.marks.get("fault", run.started)),
    }
    return DrillResult(
        drill=drill.name,
        description=drill.description,
        started=run.started,
        target=tuple(run.topology.region(1).host_names if run.name == "dr-failover" else ()),
        measured=figures(drill, measured),
        checks=tuple(checks),
        report=str(directory),
        details=details,
    )


def write(run: DrRun, data: DrillResult) -> Path:
    directory = Path(data.report)
    write_report(directory, data, run.journal)
    with (directory / "report.md").open("a") as md:
        md.write("\n## DR steps (seconds after the fault)\n\n| step | t (s) |\n|---|---|\n")
        for what, t in sorted(data.details["marks"].items(), key=lambda kv: kv[1]):
            md.write(f"| {what} | {t:+.2f} |\n")
        md.write("\n## Facts\n\n")
        for key, value in data.details["facts"].items():
            md.write(f"- {key}: {value}\n")
    return directory
