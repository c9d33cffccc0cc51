"""Drill reports: report.json (everything), report.md (for people) and timeline.png."""

import json
import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: render straight to PNG
import matplotlib.pyplot as plt

from roadie.drills.records import Journal
from roadie.drills.results import NOT_MEASURED

ANOMALIES_SHOWN = 10


def write_report(directory: Path, result: dict[str, Any], journal: Journal) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "report.json").write_text(json.dumps({**result, **journal.as_dict()}, indent=2, default=str))
    (directory / "report.md").write_text(_markdown(result))
    _timeline(directory / "timeline.png", result, journal)
    return directory


def _markdown(result: dict[str, Any]) -> str:
    lines = [
        f"# Drill `{result['drill']}` — {'PASSED' if result['passed'] else 'FAILED'}",
        "",
        result["description"],
        "",
        f"- started: {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(result['started']))} UTC",
        f"- target: {result['target']}",
        f"- fault injected at t=0 ({result['fault']})",
        "",
        "## Measurements against goals",
        "",
        "| measurement | value | goal | met |",
        "|---|---|---|---|",
    ]
    for check in result["checks"]:
        met = "yes" if check["met"] else ("no" if check["met"] is False else "n/a")
        value = NOT_MEASURED if check["value"] is None else check["value"]
        lines.append(f"| {check['name']} | {value} | {check['goal']} | {met} |")
    lines += _checker_markdown(result.get("checker"))
    lines += [
        "",
        "## Probes",
        "",
        "| probe | requests | errors | error rate | outage (s) | back after fault (s) | p50 ms | p95 ms | p99 ms "
        "| max ms |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in result["probes"]:
        lines.append(
            f"| {p['probe']} | {p['requests']} | {p['errors']} | {p['error_rate']:.2%} | {p['outage_s']} "
            f"| {p['back_after_fault_s']} | {p['p50_ms']} | {p['p95_ms']} | {p['p99_ms']} | {p['max_ms']} |"
        )
    lines += _alerts_markdown(result.get("alerts"))
    lines += ["", "## Timeline (seconds after the fault)", ""]
    for event in result["timeline"]:
        lines.append(f"- t={event['t']:+.2f}s {event['source']} {event['what']}: {event['value']}")
    lines += ["", "![timeline](timeline.png)", ""]
    return "\n".join(lines)


def _checker_markdown(checker: dict[str, Any] | None) -> list[str]:
    """Each checker's verdict over the history, then the anomalies it found (the first few of
    each: report.json has them all). The region drills (roadie/dr) keep no history yet: they
    say so instead of showing an empty verdict."""
    if checker is None:
        return ["", f"## Checker: {NOT_MEASURED} (this drill records no operation history)"]
    operations = checker["operations"]
    lines = [
        "",
        f"## Checker: {'valid' if checker['valid'] else 'ANOMALIES FOUND'}",
        "",
        f"Write operations: {operations['ok']} ok, {operations['fail']} fail (not applied), "
        f"{operations['info']} info (outcome unknown).",
        "",
        "| checker | workload | verdict | summary |",
        "|---|---|---|---|",
    ]
    for verdict in checker["verdicts"]:
        lines.append(f"| {verdict['checker']} | {verdict['workload']} | {_shown(verdict)} | {verdict['summary']} |")
    if not checker["valid"]:
        lines.append("")
    for verdict in checker["verdicts"]:
        for anomaly in verdict["anomalies"][:ANOMALIES_SHOWN]:
            lines.append(f"- {verdict['checker']} ({verdict['workload']}): {anomaly['kind']}: {anomaly['detail']}")
    return lines


def _shown(verdict: dict[str, Any]) -> str:
    if verdict["checker"] == "availability":
        return "measured"  # judged by the goals, not by the checker
    return "valid" if verdict["valid"] else f"{len(verdict['anomalies'])} anomalies"


def _alerts_markdown(alerts: dict[str, Any] | None) -> list[str]:
    if alerts is None:
        return []
    lines = ["", "## Alerts (seconds after the fault)", ""]
    if not alerts["observed"]:
        return [*lines, f"Not observed: {alerts['why']}."]
    if not alerts["alerts"]:
        lines.append("No alert went pending or firing during the drill.")
    else:
        lines += ["| alert | severity | labels | pending | firing | resolved |", "|---|---|---|---|---|---|"]
        windows = alerts.get("windows_s", {})
        for alert in alerts["alerts"]:
            labels = ", ".join(f"{k}={v}" for k, v in sorted(alert["labels"].items()))
            times = f"{_t(alert['pending_s'])} | {_t(alert['firing_s'])} | {_resolved(alert, windows)}"
            name = f"{alert['alert']} (active before the drill)" if alert.get("before_drill") else alert["alert"]
            lines.append(f"| {name} | {alert['severity']} | {labels} | {times} |")
    sent = alerts["notifications"]
    if "watched_to_s" in alerts:
        lines += ["", f"Alerts were watched until t={alerts['watched_to_s']:+.1f}s (until they resolved, at most "
                      "90 s after the heal)."]  # fmt: skip
    lines += ["", f"Notifications delivered by Alertmanager during the drill: {len(sent)}."]
    lines += [f"- t={n['received_s']:+.1f}s {n['alert']} ({n['severity']}) {n['status']}" for n in sent]
    return lines


def _resolved(alert: dict[str, Any], windows: dict[str, float]) -> str:
    if alert.get("resolved_s") is not None:
        return f"{alert['resolved_s']:+.1f}"
    if alert["alert"] in windows:
        return f"clears {windows[alert['alert']] / 60:.0f} m after its cause (its window)"
    return "still active when the watch ended"


def _first_firing(alerts: dict[str, Any] | None) -> dict[str, float]:
    first: dict[str, float] = {}
    for alert in (alerts or {}).get("alerts", []):
        if alert["firing_s"] is not None and not alert.get("before_drill"):
            first[alert["alert"]] = min(first.get(alert["alert"], alert["firing_s"]), alert["firing_s"])
    return first


def _t(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1f}"


def _timeline(path: Path, result: dict[str, Any], journal: Journal) -> None:
    fault_at = result["fault_at"]
    fig, ax = plt.subplots(figsize=(11, 4.5))
    for index, probe in enumerate(sorted({r.probe for r in journal.requests})):
        requests = [r for r in journal.requests if r.probe == probe]
        ok = [(r.sent - fault_at, r.latency * 1000) for r in requests if r.ok]
        bad = [(r.sent - fault_at, r.latency * 1000) for r in requests if not r.ok]
        color = f"C{index}"
        if ok:
            ax.scatter(*zip(*ok, strict=True), s=6, color=color, label=f"{probe} ok")
        if bad:
            ax.scatter(*zip(*bad, strict=True), s=22, marker="x", color=color, label=f"{probe} error")
    ax.axvline(0, color="red", linestyle="--", label="fault")
    for marker in result["markers"]:
        ax.axvline(marker["t"], color=marker.get("color", "gray"), linestyle=":", label=marker["label"])
    for name, at in _first_firing(result.get("alerts")).items():
        ax.axvline(at, color="darkred", linestyle="-.", linewidth=0.8, label=f"alert {name} firing")
    ax.set_yscale("log")
    ax.set_xlabel("seconds after the fault")
    ax.set_ylabel("latency (ms, log)")
    ax.set_title(f"drill {result['drill']}: requests over time")
    ax.legend(loc="upper right", fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
