"""Lab hosts as booted Debian machines: systemd-nspawn over the shared base image.

Each host is `<lab root>/machines/<name>/`:
- `upper/` + `work/`: its disk, an overlay over the read-only base image (it survives power
  loss and `lab down`; `lab down --purge` deletes it);
- `root/`: the mounted overlay the machine boots from;
- `console.log`: what its systemd printed while booting and shutting down.

A host runs in its own cgroup v2 group (roadie/<name>): the starter (a shell that boots the
machine again when its systemd asks for a reboot, exit status 133) is placed there before it
starts systemd-nspawn, so every process of the host is in the group. Then
- writing cgroup.kill is a power loss: nothing boots the host again until `power_on`;
- cgroup.freeze pauses the whole machine (ssh times out, thawing resumes it);
- iptables matching the group (`-m cgroup --path`) cuts the host off the network, which it
  shares with the other hosts: every service binds its own host's address.
The machine gets no user namespace (it would chown the whole tree and sshd could not bind)
and no private network (see README "The lab": why the hosts share one network).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from roadie.errors import RoadieError
from roadie.lab import cgroup
from roadie.lab.plan import DEPLOY_USER

# Join the host's cgroup ($1), then boot the machine, and boot it again when its systemd exits
# for a reboot (nspawn's exit status 133).
STARTER = 'echo $$ > "$1" && shift && while :; do "$@"; rc=$?; [ "$rc" -eq 133 ] || exit "$rc"; done'
IPTABLES_TAG = "roadie-lab"
# Kernel limits shared by every machine (they all run as root on one kernel). Each booted
# systemd holds several inotify instances (systemd, journald, logind, udev, ...): Debian's
# default of 128 per user stops the boot of about the 20th host with "Failed to create inotify
# object: Too many open files" (measured with the full profile's 24 hosts).
KERNEL_MINIMUMS = {
    "fs/inotify/max_user_instances": 8192,
    "fs/inotify/max_user_watches": 524288,
}
PROC_SYS = Path("/proc/sys")


@dataclass(frozen=True)
class Bind:
    """A directory of the controller mounted read-only into every host (e.g. the wheelhouse)."""

    source: Path
    target: str


@dataclass(frozen=True)
class Machine:
    """Where a host's disk, mount and console log are."""

    name: str
    address: str
    directory: Path

    @property
    def upper(self) -> Path:
        return self.directory / "upper"

    @property
    def work(self) -> Path:
        return self.directory / "work"

    @property
    def root(self) -> Path:
        return self.directory / "root"

    @property
    def console_log(self) -> Path:
        return self.directory / "console.log"

    @property
    def image_stamp(self) -> Path:
        return self.directory / "image"


def raise_kernel_limits(proc_sys: Path = PROC_SYS) -> list[str]:
    """Raise each of KERNEL_MINIMUMS that is below its minimum (never lower one); the changes
    made, as `name: old -> new`. They last until the controller reboots, as `sysctl -w` does."""
    changes = []
    for name, minimum in KERNEL_MINIMUMS.items():
        path = proc_sys / name
        current = int(path.read_text())
        if current < minimum:
            try:
                path.write_text(f"{minimum}\n")
            except OSError as exc:
                raise RoadieError(
                    f"cannot raise {name.replace('/', '.')} from {current} to {minimum} ({exc}): "
                    f"set it with sysctl before 'roadie lab up'"
                ) from None
            changes.append(f"{name.replace('/', '.')}: {current} -> {minimum}")
    return changes


def is_mounted(machine: Machine) -> bool:
    target = str(machine.root)
    return any(line.split()[1] == target for line in Path("/proc/mounts").read_text().splitlines())


def mount(machine: Machine, image_digest: str, image_rootfs: Path) -> None:
    """Attach the host's disk (an overlay over the base image it was created from)."""
    for path in (machine.upper, machine.work, machine.root):
        path.mkdir(parents=True, exist_ok=True)
    if machine.image_stamp.exists() and machine.image_stamp.read_text().strip() != image_digest:
        raise RoadieError(
            f"lab host {machine.name} was created from base image {machine.image_stamp.read_text().strip()}, "
            f"not {image_digest}: rebuild the lab with 'roadie lab down --purge' then 'roadie lab up'"
        )
    machine.image_stamp.write_text(image_digest + "\n")
    if is_mounted(machine):
        return
    options = f"lowerdir={image_rootfs},upperdir={machine.upper},workdir={machine.work}"
    result = subprocess.run(
        ["mount", "-t", "overlay", "overlay", "-o", options, str(machine.root)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RoadieError(f"could not mount the disk of lab host {machine.name}: {result.stderr.strip()}")


def unmount(machine: Machine) -> None:
    if is_mounted(machine):
        subprocess.run(["umount", str(machine.root)], check=False, capture_output=True)


def give_identity(machine: Machine, deploy_key: str) -> str:
    """Hostname, machine id, an SSH host key, sshd on the host's address only and the deploy
    user's authorized key: what a cloud's first boot gives an instance. Idempotent; returns
    the host's public SSH key."""
    root = machine.root
    (root / "etc/hostname").write_text(machine.name + "\n")
    (root / "etc/hosts").write_text(f"127.0.0.1\tlocalhost\n{machine.address}\t{machine.name}\n")
    machine_id = root / "etc/machine-id"
    if not machine_id.read_text().strip():
        machine_id.write_text(uuid.uuid4().hex + "\n")
    host_key = root / "etc/ssh/ssh_host_ed25519_key"
    if not host_key.exists():
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", machine.name, "-f", str(host_key)], check=True
        )
    (root / "etc/ssh/sshd_config.d/20-roadie-host.conf").write_text(f"ListenAddress {machine.address}\n")
    _authorize(root, deploy_key)
    return (root / "etc/ssh/ssh_host_ed25519_key.pub").read_text().strip()


def _authorize(root: Path, key: str) -> None:
    uid, gid, home = _account(root, DEPLOY_USER)
    ssh_dir = root / home.lstrip("/") / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    keys = ssh_dir / "authorized_keys"
    keys.write_text(key + "\n")
    keys.chmod(0o600)
    for path in (ssh_dir, keys):
        os.chown(path, uid, gid)


def _account(root: Path, user: str) -> tuple[int, int, str]:
    for line in (root / "etc/passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == user:
            return int(fields[2]), int(fields[3]), fields[5]
    raise RoadieError(f"the lab base image has no user {user}")


def is_powered_on(machine: Machine) -> bool:
    return cgroup.is_populated(machine.name)


def power_on(machine: Machine, binds: Sequence[Bind] = ()) -> bool:
    """Boot the host (its starter and systemd in its cgroup); False if it was already on."""
    if is_powered_on(machine):
        return False
    if not is_mounted(machine):
        raise RoadieError(f"the disk of lab host {machine.name} is not attached: run 'roadie lab up'")
    group = cgroup.create(machine.name)
    # A host that was frozen when it lost power must not come back frozen.
    cgroup.thaw(machine.name)
    command = [
        "systemd-nspawn",
        "--boot",
        f"--directory={machine.root}",
        f"--machine={machine.name}",
        "--register=no",
        "--keep-unit",
        "--private-users=no",
        "--console=read-only",
        "--resolv-conf=copy-host",
        "--link-journal=no",
        *(f"--bind-ro={b.source}:{b.target}" for b in binds),
    ]
    env = {**os.environ, "SYSTEMD_NSPAWN_UNIFIED_HIERARCHY": "1"}
    procs = group / "cgroup.procs"
    with machine.console_log.open("a") as log:
        log.write(f"--- power on {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        log.flush()
        subprocess.Popen(
            ["sh", "-c", STARTER, f"roadie-{machine.name}", str(procs), *command],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    deadline = time.monotonic() + 5
    while not is_powered_on(machine):
        if time.monotonic() > deadline:
            raise RoadieError(f"lab host {machine.name} did not start (see {machine.console_log})")
        time.sleep(0.02)
    return True


def wait_reachable(machine: Machine, timeout: float = 60.0) -> float:
    """Seconds until the host's sshd accepts connections; a clear error if it never does."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if not is_powered_on(machine):
            tail = machine.console_log.read_text(errors="replace").splitlines()[-5:]
            raise RoadieError(f"lab host {machine.name} stopped while booting: {' | '.join(tail)}")
        try:
            with socket.create_connection((machine.address, 22), timeout=0.5):
                return time.monotonic() - started
        except OSError:
            time.sleep(0.1)
    raise RoadieError(f"lab host {machine.name} did not accept SSH within {timeout:.0f}s (see {machine.console_log})")


def power_off(machine: Machine) -> float:
    """Power loss: every process of the host dies at once; returns when (epoch seconds)."""
    cgroup.kill(machine.name)
    return time.time()


def shutdown(machine: Machine, timeout: float = 25.0) -> None:
    """A clean shutdown (systemd stops every unit), then power off whatever is left."""
    for pid in _nspawn_pids(machine):
        # nspawn turns SIGTERM into a clean poweroff of the machine.
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while is_powered_on(machine) and time.monotonic() < deadline:
        time.sleep(0.1)
    cgroup.kill(machine.name)


def _nspawn_pids(machine: Machine) -> list[int]:
    """systemd-nspawn moves itself into a `supervisor` group below the host's own."""
    group = cgroup.group_path(machine.name)
    pids = []
    for procs in (group / "cgroup.procs", group / "supervisor" / "cgroup.procs"):
        if procs.exists():
            pids += [int(p) for p in procs.read_text().split() if _command(int(p)) == "systemd-nspawn"]
    return pids


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def isolate(machine: Machine) -> float:
    """Drop every packet the host sends (a network partition); returns when."""
    rule = _rule(machine)
    if subprocess.run(["iptables", "-w", "-C", *rule], capture_output=True, check=False).returncode != 0:
        subprocess.run(["iptables", "-w", "-I", *rule], check=True, capture_output=True)
    return time.time()


def connect(machine: Machine) -> float:
    """Remove the cut `isolate` made; returns when."""
    while subprocess.run(["iptables", "-w", "-D", *_rule(machine)], capture_output=True, check=False).returncode == 0:
        pass
    return time.time()


def _rule(machine: Machine) -> list[str]:
    group = cgroup.relative_group(machine.name)
    comment = f"{IPTABLES_TAG}:{machine.name}"
    return ["OUTPUT", "-m", "cgroup", "--path", group, "-m", "comment", "--comment", comment, "-j", "DROP"]
