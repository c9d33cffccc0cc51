"""Bring the lab up and down.

`up` does what a cloud deployment does, on this machine: provision the hosts of the profile
(the base image, one booted machine per host with an address and an SSH key), describe them
as a stack's outputs, generate the inventory from that with the code of `roadie inventory
from-stack`, and run `site.yml` over SSH with become, like against any other inventory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roadie import tls
from roadie.console import console
from roadie.dr import fence
from roadie.errors import RoadieError
from roadie.inventory import build_inventory, check_inventory, load_stack_output, write_inventory
from roadie.lab import cgroup, hosts, image, machines, shared_epmd, ssh, wheelhouse
from roadie.lab.converge import converge
from roadie.lab.inventory import Lab, LabHost, add_lab_groups, lab_root, load_lab
from roadie.lab.plan import load_plan
from roadie.lab.playbook import PlaybookRun
from roadie.lab.secrets import ensure_secrets
from roadie.paths import project_root

REQUIRED_PROGRAMS = ("systemd-nspawn", "debootstrap", "iptables", "ssh", "ssh-keygen")
# Hosts booted at once: a boot takes under a second; a few at a time keep the two cores free
# enough that every boot finishes promptly.
BOOT_CONCURRENCY = 6
HUNG_AFTER_S = 20.0


@dataclass
class Timings:
    """Seconds per phase of `lab up`, in order, for the closing summary."""

    phases: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.phases[name] = time.monotonic() - started

    def summary(self) -> str:
        return ", ".join(f"{name} {seconds:.0f}s" for name, seconds in self.phases.items())


def check_machine(say: Callable[[str], None]) -> None:
    """Fail early, with the fix, when this machine cannot host the lab; raise kernel limits."""
    if os.geteuid() != 0:
        raise RoadieError("the lab needs root (it boots machines, mounts their disks and creates cgroups)")
    cgroup.cgroup2_mount()
    missing = [p for p in REQUIRED_PROGRAMS if shutil.which(p) is None]
    if missing:
        raise RoadieError(f"missing programs: {', '.join(missing)}; run 'make bootstrap' first")
    for change in machines.raise_kernel_limits():
        say(f"kernel limit raised for the lab's machines: {change}")


def up(profile: str, progress: Callable[[str], None] | None = None) -> tuple[PlaybookRun, Timings]:
    say = progress or (lambda text: console.print(f"[muted]{text}[/]"))
    check_machine(say)
    load_lab.cache_clear()
    lab = load_lab(profile)
    timings = Timings()
    lab.root.mkdir(parents=True, exist_ok=True)
    ensure_secrets(lab.secrets_file)
    with timings.phase("base image"):
        base = image.ensure_image(image.load_spec(), say)
    with timings.phase("wheels"):
        wheels = wheelhouse.ensure_wheelhouse(wheelhouse.image_target(base.rootfs), say)
        wheelhouse.publish(wheels, lab.root / "wheels")
        wheel = wheelhouse.build_roadie_wheel(lab.root / "dist")
    with timings.phase("machines"):
        _retire_other_hosts(lab)
        # The network's epmd first: a RabbitMQ host that boots without it starts its own.
        rabbitmq = [h.address for h in lab.hosts if {"rabbitmq", "rabbitmq_dr"} & set(h.groups)]
        shared_epmd.start(base.rootfs, rabbitmq, lab.root / "epmd.log")
        _provision(lab, base, say)
    inventory = write_inventory_files(lab, wheel)
    issued = tls.issue(lab.tls, inventory)
    if issued:
        say(f"internal CA {lab.tls.ca_cert}: certificates issued for {len(issued)} hosts")
    (lab.root / "profile").write_text(profile + "\n")
    with timings.phase("site.yml"):
        run = converge(lab, f"Bringing the lab up ({profile})")
    return run, timings


def _link(link: Path, target: Path) -> None:
    if link.is_symlink() or link.exists():
        if link.resolve() == target.resolve():
            return
        link.unlink()
    link.symlink_to(target)


def _provision(lab: Lab, base: image.Image, say: Callable[[str], None]) -> None:
    """Mount, identify and boot every host of the profile, then write the SSH client files."""
    deploy_key = ssh.ensure_key(lab.ssh)

    def boot(host: LabHost) -> tuple[str, str, str]:
        machines.mount(host.machine, base.digest, base.rootfs)
        host_key = machines.give_identity(host.machine, deploy_key)
        if not hosts.power_on(host):
            _reset_if_hung(host, say)
        return host.name, host.address, host_key

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=BOOT_CONCURRENCY) as pool:
        keys = list(pool.map(boot, lab.hosts))
    ssh.write_client_files(lab.ssh, keys)
    say(f"{len(keys)} hosts booted and reachable over SSH in {time.monotonic() - started:.1f}s")


def _reset_if_hung(host: LabHost, say: Callable[[str], None]) -> None:
    """A host that was already on must answer SSH; one that does not (its boot hung: seen once
    when the `lab up` that booted it was killed) is reset, as a cloud's status check would."""
    try:
        machines.wait_reachable(host.machine, timeout=HUNG_AFTER_S)
    except RoadieError:
        say(f"{host.name} was on but did not answer SSH within {HUNG_AFTER_S:.0f}s: resetting it")
        hosts.crash(host)
        hosts.power_on(host)


def _retire_other_hosts(lab: Lab) -> None:
    """Hosts of another profile that are still on (a full lab brought up as core) go down."""
    names = {h.name for h in lab.hosts}
    for other in (load_lab(p) for p in ("core", "full")):
        for host in other.hosts:
            if host.name not in names and hosts.is_powered_on(host):
                hosts.shutdown(host)


def write_inventory_files(lab: Lab, wheel: Path) -> dict[str, Any]:
    """The lab's stack output, and the inventory generated from it next to the lab's group_vars."""
    stack_file = lab.root / "stack-output.json"
    stack_file.write_text(json.dumps(load_plan().stack_output(lab.profile), indent=2) + "\n")
    inventory = add_lab_groups(build_inventory([load_stack_output(stack_file)]))
    problems = check_inventory(inventory)
    if problems:
        raise RoadieError(f"the lab plan gives an inconsistent inventory: {'; '.join(problems)}")
    # What only the lab has: where its files are, the release the hosts install, and how to
    # reach the hosts (its key, its known_hosts), as literal values that every consumer of
    # the inventory reads alike (testinfra does not template variables).
    inventory["all"]["vars"].update(
        {
            "roadie_lab_root": str(lab.root),
            "roadie_wheel": str(wheel),
            "ansible_ssh_private_key_file": str(lab.ssh.private_key),
            "ansible_ssh_common_args": (
                f"-o UserKnownHostsFile={lab.ssh.known_hosts} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes"
            ),
        }
    )
    write_inventory(inventory, lab.inventory_dir / "hosts.yml")
    for variables in ("group_vars", "host_vars"):
        _link(lab.inventory_dir / variables, project_root() / "ansible" / "inventories" / "lab" / variables)
    return inventory


def every_host() -> list[LabHost]:
    """The hosts of every profile (the full profile holds them all)."""
    return list(load_lab("full").hosts)


def down(purge: bool) -> list[str]:
    """Shut every lab host down (in parallel); with purge, delete the lab's files too."""
    targets = [h for h in every_host() if hosts.is_created(h)]
    with ThreadPoolExecutor(max_workers=max(1, len(targets))) as pool:
        list(pool.map(_stop_host, targets))
    shared_epmd.stop()
    _close_ssh_masters(lab_root())
    for host in every_host():
        cgroup.remove(host.name)
        machines.unmount(host.machine)
    still_mounted = [h.name for h in every_host() if machines.is_mounted(h.machine)]
    if still_mounted:
        raise RoadieError(f"the disks of {', '.join(still_mounted)} are still mounted: nothing was purged")
    root = lab_root()
    if purge and (lifted := fence.unfence_all()):
        console.print(f"lifted the fence of region {', '.join(map(str, lifted))} (its hosts are purged)")
    if purge and root.exists():
        shutil.rmtree(root)
    load_lab.cache_clear()
    return [h.name for h in targets if h.name]


def _stop_host(host: LabHost) -> None:
    hosts.reconnect(host)  # a drill cut short may have left the host cut off
    hosts.shutdown(host)


def _close_ssh_masters(root: Path) -> None:
    """The multiplexed SSH connections to the hosts are the lab's processes too."""
    for socket in (root / "ssh").glob("cm-*"):
        subprocess.run(["ssh", "-o", f"ControlPath={socket}", "-O", "exit", "lab"], capture_output=True, check=False)
