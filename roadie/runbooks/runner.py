"""Run a runbook's steps: PromQL against Prometheus, shell commands with the environment's variables."""

import os
import subprocess
from dataclasses import dataclass

import httpx

from roadie.runbooks.parse import Step

TIMEOUT = 30.0
MAX_SERIES = 20


@dataclass(frozen=True)
class StepResult:
    """What one step found: whether it ran successfully, and its output."""

    step: Step
    ok: bool
    output: str


def run_step(step: Step, variables: dict[str, str]) -> StepResult:
    if step.language == "promql":
        return _run_query(step, variables)
    return _run_shell(step, variables)


def queries(step: Step) -> list[str]:
    """A PromQL step's queries: one per line. Several metrics of one target are asked for one
    line each, never as `a or b` (which keeps only a's series where both carry the same labels)."""
    return [line.strip() for line in step.code.splitlines() if line.strip()]


def _run_query(step: Step, variables: dict[str, str]) -> StepResult:
    url = variables.get("PROMETHEUS_URL", "")
    if not url:
        return StepResult(step, False, "PROMETHEUS_URL is not set")
    several = len(queries(step)) > 1
    outputs = []
    for query in queries(step):
        try:
            answer = httpx.get(f"{url}/api/v1/query", params={"query": query}, timeout=TIMEOUT)
            body = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            return StepResult(step, False, f"Prometheus at {url} did not answer: {exc}")
        if body.get("status") != "success":
            return StepResult(step, False, f"query {query} failed: {body.get('error', answer.text[:200])}")
        outputs.append((f"# {query}\n" if several else "") + format_result(body["data"]))
    return StepResult(step, True, "\n".join(outputs))


def format_result(data: dict) -> str:
    result = data.get("result", [])
    if data.get("resultType") == "scalar":
        return f"scalar: {result[1]}"
    if not result:
        return "(no series: nothing matches right now)"
    lines = []
    for series in result[:MAX_SERIES]:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(series["metric"].items()))
        value = series.get("value", ["", "?"])[1]
        lines.append(f"{{{labels}}} = {value}")
    if len(result) > MAX_SERIES:
        lines.append(f"... and {len(result) - MAX_SERIES} more series")
    return "\n".join(lines)


def _run_shell(step: Step, variables: dict[str, str]) -> StepResult:
    env = {**os.environ, **variables}
    try:
        done = subprocess.run(
            ["bash", "-o", "pipefail", "-c", step.code],
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return StepResult(step, False, f"timed out after {TIMEOUT:.0f}s")
    output = (done.stdout + done.stderr).strip()
    return StepResult(step, done.returncode == 0, output or f"(no output, exit {done.returncode})")
