"""Run an Ansible playbook against the lab inventory, showing progress and the recap."""

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from rich.status import Status

from roadie.console import console
from roadie.errors import RoadieError
from roadie.lab.inventory import lab_root
from roadie.paths import ansible_dir, project_root

RECAP_LINE = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+"
    r"unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)"
)
HEADER = re.compile(r"^(?P<kind>PLAY|TASK|RUNNING HANDLER) \[(?P<name>.*)\]")
FAILED_HOST = re.compile(r"^(?:fatal|failed): \[(?P<host>[^\]]+)\]")


@dataclass
class PlaybookRun:
    """What one ansible-playbook run did, host by host."""

    returncode: int
    log_file: Path
    seconds: float
    recap: dict[str, dict[str, int]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    # The task that failed and on which hosts, so an error names them (not only the message).
    failed_tasks: dict[str, list[str]] = field(default_factory=dict)
    # Wall-clock seconds spent in each task (summed over its runs), for the slowest-tasks list.
    task_seconds: dict[str, float] = field(default_factory=dict)

    def slowest(self, count: int = 10) -> list[tuple[str, float]]:
        return sorted(self.task_seconds.items(), key=lambda item: item[1], reverse=True)[:count]

    @property
    def changed(self) -> int:
        return sum(r["changed"] for r in self.recap.values())

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def mitogen_strategies() -> Path | None:
    """Mitogen's strategy plugins, when installed: they run the same plays with one Python per
    host that stays up and keeps its imported modules, instead of a new Python (which imports
    Ansible's module_utils again) for every task. On this kind of machine that halves a run
    (measured: 139 s against 256 s for an idempotent run of the core lab)."""
    spec = importlib.util.find_spec("ansible_mitogen")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "plugins" / "strategy"


def ansible_env() -> dict[str, str]:
    """Keep Ansible's state inside the project, not in ~/.ansible (see LAB-NOTES)."""
    state = project_root() / ".ansible"
    env = dict(os.environ)
    if (strategies := mitogen_strategies()) is not None and "ANSIBLE_STRATEGY" not in env:
        env.update({"ANSIBLE_STRATEGY_PLUGINS": str(strategies), "ANSIBLE_STRATEGY": "mitogen_linear"})
    env.update(
        {
            "ANSIBLE_CONFIG": str(ansible_dir() / "ansible.cfg"),
            "ANSIBLE_HOME": str(state),
            "ANSIBLE_LOCAL_TEMP": str(state / "tmp"),
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_NOCOLOR": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def run_playbook(
    playbook: str,
    log_dir: Path,
    *,
    limit: str | None = None,
    extra_vars: dict[str, object] | None = None,
    inventory: Path | None = None,
    title: str = "Running Ansible",
    show_progress: bool = True,
    on_task: Callable[[str], None] | None = None,
    log_name: str | None = None,
) -> PlaybookRun:
    """Run ansible/playbooks/<playbook>, stream it to a log file and show the current task
    (on a status line of its own, or through `on_task` when the caller shows several runs)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    stem = log_name or Path(playbook).stem
    log_file = log_dir / f"ansible-{stem}-{time.strftime('%Y%m%d-%H%M%S')}.log"
    cmd = _command(playbook, inventory or lab_root() / "inventory", limit, extra_vars)
    run = PlaybookRun(returncode=-1, log_file=log_file, seconds=0.0)
    started = time.monotonic()
    status = Status(title, console=console)
    own_status = show_progress and on_task is None
    with log_file.open("w") as log, status if own_status else nullcontext():
        progress = Progress(on_task or status.update, title)
        process = subprocess.Popen(
            cmd, cwd=ansible_dir(), env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            progress.follow(line, run)
        run.returncode = process.wait()
        log.write("\nSlowest tasks (seconds, summed over their runs):\n")
        log.writelines(f"{seconds:8.1f}  {name}\n" for name, seconds in run.slowest(25))
    run.seconds = time.monotonic() - started
    return run


def _command(playbook: str, inventory: Path, limit: str | None, extra_vars: dict[str, object] | None) -> list[str]:
    binary = Path(sys.executable).parent / "ansible-playbook"
    path = ansible_dir() / "playbooks" / playbook
    if not path.exists():
        raise RoadieError(f"playbook {path} not found")
    cmd = [str(binary), "-i", str(inventory), str(path)]
    if limit:
        cmd += ["--limit", limit]
    if extra_vars:
        # JSON keeps types: a number stays a number for the roles' argument specs.
        cmd += ["-e", json.dumps(extra_vars)]
    return cmd


class Progress:
    """Turns ansible-playbook's output into a one-line progress display and a PlaybookRun."""

    def __init__(self, report: Callable[[str], None], title: str) -> None:
        self.report = report
        self.title = title
        self.tasks = 0
        self.started = time.monotonic()
        self.current: tuple[str, float] | None = None
        self.task = "(before the first task)"

    def follow(self, line: str, run: PlaybookRun) -> None:
        text = line.rstrip()
        if match := HEADER.match(text):
            self._time_task(run, match["name"] if match["kind"] != "PLAY" else None)
            self.tasks += match["kind"] != "PLAY"
            if match["kind"] != "PLAY":
                self.task = match["name"]
            elapsed = time.monotonic() - self.started
            self.report(
                f"{self.title} [muted]({elapsed:.0f}s, {self.tasks} tasks)[/] {match['kind'].lower()}: {match['name']}"
            )
        elif text.startswith(("fatal:", "failed:")) or "[ERROR]" in text:
            run.failures.append(text)
            if host := FAILED_HOST.match(text):
                hosts = run.failed_tasks.setdefault(self.task, [])
                if host["host"] not in hosts:
                    hosts.append(host["host"])
        elif run.failures and (text.startswith(("    msg:", "  msg:")) or text.startswith("argument '")):
            # The assert's message, or the argument spec's "argument 'x' is of type ..." line.
            run.failures.append(text.strip())
        elif match := RECAP_LINE.match(text):
            self._time_task(run, None)
            run.recap[match["host"]] = {k: int(match[k]) for k in ("ok", "changed", "unreachable", "failed")}

    def _time_task(self, run: PlaybookRun, starting: str | None) -> None:
        now = time.monotonic()
        if self.current is not None:
            name, since = self.current
            run.task_seconds[name] = run.task_seconds.get(name, 0.0) + now - since
        self.current = (starting, now) if starting is not None else None


def raise_for_failure(run: PlaybookRun, what: str) -> None:
    if run.ok:
        return
    messages = [f for f in dict.fromkeys(run.failures) if not FAILED_HOST.match(f)]
    where = "; ".join(f"task '{task}' failed on {', '.join(hosts)}" for task, hosts in run.failed_tasks.items())
    detail = "; ".join(filter(None, [where, *messages]))[:900] or f"exit code {run.returncode}"
    raise RoadieError(f"{what} failed: {detail} (full log: {run.log_file})")


def summarize(runs: Sequence[PlaybookRun]) -> str:
    """Hosts and changes over runs that may have overlapped (their times do not add up)."""
    changed = sum(r.changed for r in runs)
    hosts = {h for r in runs for h in r.recap}
    return f"{len(hosts)} hosts, changed={changed}"
