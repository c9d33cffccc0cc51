"""Run provocations and record what each alert did: pending, firing, notified, its runbook's
findings, resolved after the heal; and that the alerts a benign event must not fire stayed quiet.

Tiers run at the same time, the provocations of one tier one after another; an exclusive one
(it breaks what the others stand on) runs alone after them. A provocation's
tier moves on once it healed; waiting for the alert to resolve goes on beside the next one
(a windowed alert such as PostgresDeadlocks takes five minutes to clear).
"""

import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from roadie.alerts.active import active_alerts, matches
from roadie.errors import RoadieError
from roadie.provoke.catalog import Expect, Injected, Provocation
from roadie.provoke.context import Context
from roadie.provoke.watch import Timeline, Watcher
from roadie.runbooks.environment import lab_environment
from roadie.runbooks.parse import load
from roadie.runbooks.runner import run_step

# Alertmanager's longest group_wait (alerts/alertmanager/routing.yml, warnings) plus delivery.
NOTIFY_WITHIN_S = 45.0

Progress = Callable[[str], None]


@dataclass
class Diagnosis:
    alert: str
    named: list[str]
    missing: list[str]
    failed_steps: list[str]
    findings: str

    @property
    def ok(self) -> bool:
        return not self.missing and not self.failed_steps


@dataclass
class Outcome:
    provocation: str
    summary: str
    started: float
    facts: dict[str, str] = field(default_factory=dict)
    timelines: list[Timeline] = field(default_factory=list)
    diagnoses: list[Diagnosis] = field(default_factory=list)
    silent_fired: list[str] = field(default_factory=list)
    silent_watched: list[str] = field(default_factory=list)
    healed_at: float | None = None
    errors: list[str] = field(default_factory=list)
    bounds: dict[str, float] = field(default_factory=dict)
    inhibited: dict[str, str] = field(default_factory=dict)  # alert: the alert that inhibits it

    def as_dict(self) -> dict[str, Any]:
        return {
            "provocation": self.provocation,
            "summary": self.summary,
            "facts": self.facts,
            "healed_s": None if self.healed_at is None else round(self.healed_at - self.started, 1),
            "alerts": [
                {
                    "alert": t.alert,
                    "labels": t.labels,
                    **t.seconds(),
                    "bound_firing_s": self.bounds.get(t.alert),
                    "inhibited_by": self.inhibited.get(t.alert, ""),
                }
                for t in self.timelines
            ],
            "diagnoses": [
                {"alert": d.alert, "named": d.named, "missing": d.missing, "failed_steps": d.failed_steps}
                for d in self.diagnoses
            ],
            "silent_watched": self.silent_watched,
            "silent_fired": self.silent_fired,
            "errors": self.errors,
        }


class Campaign:
    def __init__(self, ctx: Context, progress: Progress = print) -> None:
        self.ctx = ctx
        self.progress = progress
        self.watcher = Watcher(ctx.prometheus, ctx.recorder)
        self.evaluation_s = ctx.evaluation_interval_s()
        self.for_s = ctx.alert_for_s()
        self.variables = lab_environment(ctx.lab)
        self.resolutions: list[Future[None]] = []
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="resolve")

    def run(self, provocations: list[Provocation]) -> list[Outcome]:
        tiers: dict[str, list[Provocation]] = {}
        for one in provocations:
            if not one.exclusive:
                tiers.setdefault(one.tier, []).append(one)
        outcomes: dict[str, Outcome] = {}
        with ThreadPoolExecutor(max_workers=len(tiers) or 1, thread_name_prefix="tier") as pool:
            for done in [pool.submit(self._tier, members) for members in tiers.values()]:
                for outcome in done.result():
                    outcomes[outcome.provocation] = outcome
        for one in provocations:
            if one.exclusive:
                outcomes[one.name] = self.one(one)
        for resolution in self.resolutions:
            resolution.result()
        self._pool.shutdown()
        return [outcomes[p.name] for p in provocations]

    def _tier(self, members: list[Provocation]) -> list[Outcome]:
        # Benign events first; then the faults whose alerts take longest to clear, so that
        # their resolution is waited for beside the rest of the tier.
        return [self.one(p) for p in sorted(members, key=lambda p: (bool(p.alerts), -p.resolve_within_s))]

    def one(self, provocation: Provocation) -> Outcome:
        outcome = Outcome(provocation.name, provocation.summary, started=time.time())
        self.progress(f"{provocation.name}: {provocation.summary}")
        try:
            injected = provocation.inject(self.ctx)
        except Exception as exc:  # a broken provocation fails its own alerts, not the campaign
            outcome.errors.append(f"inject: {_error(exc)}")
            return outcome
        outcome.facts = injected.facts
        try:
            self._observe(provocation, injected, outcome)
        except Exception as exc:
            outcome.errors.append(f"observe: {_error(exc)}")
        finally:
            self._heal(injected, outcome)
        if outcome.timelines:
            self.resolutions.append(self._pool.submit(self._resolution, provocation, outcome))
        return outcome

    def _observe(self, provocation: Provocation, injected: Injected, outcome: Outcome) -> None:
        outcome.timelines = [Timeline(e.alert, e.labels, outcome.started) for e in injected.expects]
        outcome.silent_watched = list(provocation.silent)
        outcome.inhibited = {e.alert: e.inhibited_by for e in injected.expects if e.inhibited_by}
        for timeline in outcome.timelines:
            outcome.bounds[timeline.alert] = self.for_s.get(timeline.alert, 0.0) + 2 * self.evaluation_s
        if outcome.timelines:
            longest = max(outcome.bounds.values())
            bound = provocation.fire_within_s + longest + NOTIFY_WITHIN_S
            fired = self.watcher.until(outcome.timelines, lambda ts: all(_proven(t, outcome) for t in ts), bound)
            states = ", ".join(f"{t.alert} {_state(t)}" for t in outcome.timelines)
            self.progress(f"{provocation.name}: {states}" + ("" if fired else f" (gave up after {bound:.0f}s)"))
            outcome.diagnoses = [self._diagnose(e) for e, t in zip(injected.expects, outcome.timelines, strict=True)
                                 if t.firing]  # fmt: skip
        if provocation.hold_s:
            outcome.silent_fired = self._watch_silent(provocation, injected.silent_labels, outcome.started)

    def _watch_silent(self, provocation: Provocation, labels: dict[str, str], started: float) -> list[str]:
        fired: set[str] = set()
        deadline = time.monotonic() + provocation.hold_s
        while time.monotonic() < deadline:
            for alert in active_alerts(self.ctx.prometheus):
                mine = any(matches(alert.labels, name, labels) for name in provocation.silent)
                if mine and alert.state == "firing" and alert.active_at >= started - 1:
                    fired.add(alert.alert)
            time.sleep(self.watcher.interval)
        self.progress(f"{provocation.name}: stayed silent: {', '.join(sorted(set(provocation.silent) - fired)) or '-'}"
                      + (f"; FIRED: {', '.join(sorted(fired))}" if fired else ""))  # fmt: skip
        return sorted(fired)

    def _diagnose(self, expect: Expect) -> Diagnosis:
        book = load(expect.alert)
        outputs, failed = [], []
        for step in book.diagnosis:
            result = run_step(step, self.variables)
            outputs.append(result.output)
            if not result.ok:
                failed.append(step.description or step.code[:60])
        findings = "\n".join(outputs)
        named = [c.describe for c in expect.causes if c.found_in(findings)]
        missing = [c.describe for c in expect.causes if not c.found_in(findings)]
        return Diagnosis(expect.alert, named, missing, failed, findings)

    def _heal(self, injected: Injected, outcome: Outcome) -> None:
        try:
            injected.heal()
        except Exception as exc:
            outcome.errors.append(f"heal: {_error(exc)}")
        outcome.healed_at = time.time()

    def _resolution(self, provocation: Provocation, outcome: Outcome) -> None:
        firing = [t for t in outcome.timelines if t.firing_at is not None]
        if not firing:
            return
        bound = provocation.resolve_within_s + 2 * self.evaluation_s
        try:
            resolved = self.watcher.until(firing, lambda ts: all(t.resolved_at for t in ts), bound)
        except Exception as exc:  # Prometheus gone: this outcome fails, the campaign goes on
            outcome.errors.append(f"resolution: {_error(exc)}")
            return
        self.progress(
            f"{provocation.name}: " + ("resolved" if resolved else f"NOT resolved {bound:.0f}s after the heal")
        )


def _proven(timeline: Timeline, outcome: Outcome) -> bool:
    """Firing, and notified unless another alert inhibits it."""
    return timeline.firing and (timeline.notified_at is not None or timeline.alert in outcome.inhibited)


def _state(timeline: Timeline) -> str:
    if timeline.firing and timeline.notified_at:
        return "firing and notified"
    if timeline.firing:
        return "firing, not notified"
    return "pending" if timeline.pending_at else "not seen"


def _error(exc: Exception) -> str:
    if isinstance(exc, RoadieError):
        return str(exc)
    return "".join(traceback.format_exception_only(exc)).strip()
