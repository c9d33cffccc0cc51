"""Bring the lab up and down."""

import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from roadie.errors import RoadieError
from roadie.lab import cgroup, hosts
from roadie.lab.inventory import FULL_ONLY_GROUP, Lab
from roadie.lab.playbook import PlaybookRun, raise_for_failure, run_playbook
from roadie.lab.secrets import ensure_secrets

PROFILES = ("core", "full")
REQUIRED_BINARIES = (
    "etcd",
    "redis-server",
    "redis-sentinel",
    "haproxy",
    "supervisord",
    "supervisorctl",
    "psql",
    "/usr/lib/rabbitmq/bin/rabbitmq-server",
    "/usr/lib/postgresql/15/bin/postgres",
)


def check_machine() -> None:
    """Fail early, with the fix, when the machine cannot host the lab."""
    if os.geteuid() != 0:
        raise RoadieError("the lab needs root (it creates cgroups and runs services as their users)")
    cgroup.cgroup2_mount()
    missing = [b for b in REQUIRED_BINARIES if not shutil.which(b) and not Path(b).exists()]
    if missing:
        raise RoadieError(f"missing programs: {', '.join(missing)}; run 'make bootstrap' first")


def profile_limit(profile: str) -> str | None:
    if profile not in PROFILES:
        raise RoadieError(f"unknown profile '{profile}' (profiles: {', '.join(PROFILES)})")
    return None if profile == "full" else f"!{FULL_ONLY_GROUP}"


def up(lab: Lab, profile: str) -> PlaybookRun:
    limit = profile_limit(profile)
    check_machine()
    lab.root.mkdir(parents=True, exist_ok=True)
    ensure_secrets(lab.secrets_file)
    (lab.root / "profile").write_text(profile + "\n")
    run = run_playbook("site.yml", lab.root / "logs", limit=limit, title=f"Bringing the lab up ({profile})")
    raise_for_failure(run, "lab up")
    return run


def current_profile(lab: Lab) -> str:
    marker = lab.root / "profile"
    return marker.read_text().strip() if marker.exists() else "core"


def created_hosts(lab: Lab) -> list:
    return [h for h in lab.hosts if hosts.is_created(h)]


def down(lab: Lab, purge: bool) -> list[str]:
    """Shut every lab host down (in parallel); with purge, delete the lab's files too."""
    targets = created_hosts(lab)
    for host in targets:
        hosts.reconnect(host)  # a drill cut short may have left the host cut off
    with ThreadPoolExecutor(max_workers=max(1, len(targets))) as pool:
        list(pool.map(hosts.power_off, targets))
    for host in lab.hosts:
        cgroup.remove(host.name)
    _stop_shared_epmd()
    if purge and lab.root.exists():
        shutil.rmtree(lab.root)
    return [h.name for h in targets]


def _stop_shared_epmd() -> None:
    """The lab's RabbitMQ hosts share one epmd per machine (see the rabbitmq role), started
    outside every host; with every host down it has no registrations left and is stopped
    through its own command."""
    epmd = shutil.which("epmd")
    if epmd is None:
        return
    names = subprocess.run([epmd, "-names"], capture_output=True, text=True, check=False, timeout=10)
    if names.returncode == 0 and "at port" not in names.stdout:
        subprocess.run([epmd, "-kill"], capture_output=True, check=False, timeout=10)
