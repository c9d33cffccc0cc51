"""The lab network's one epmd (the Erlang port mapper), outside every host.

Lab hosts share one network stack and so one 127.0.0.1, and an Erlang node registers with the
epmd at 127.0.0.1 only (OTP's erl_epmd), while its peers ask the epmd at the node's own
address. One epmd per host cannot work on a shared network (each binds 127.0.0.1), and one
inside a host would unregister every other node when that host loses power. So the lab runs
one, in a group of its own, listening on 127.0.0.1 and on every RabbitMQ host's address: the
lab's network provides it, as a host's loopback does in production (where the rabbitmq role
runs epmd on each host). The nodes therefore need distinct node names and distribution ports
in the lab, which its inventory sets.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from roadie.errors import RoadieError
from roadie.inventory import ports
from roadie.lab import cgroup

GROUP = "lab-epmd"
# Erlang's port mapper port (every node and CLI tool asks it there).
PORT = ports.port("rabbitmq", "epmd")
LISTEN_TIMEOUT_S = 5.0


def is_running() -> bool:
    return cgroup.is_populated(GROUP)


def start(image_rootfs: Path, addresses: Sequence[str], log: Path) -> bool:
    """Run epmd from the base image (as nobody) and wait until it listens; False if it already
    runs. It must start before any RabbitMQ host boots: a node or CLI tool that finds no epmd
    at 127.0.0.1 starts one of its own inside its host, which then holds the lab's 127.0.0.1."""
    if is_running() or not addresses:
        return False
    procs = cgroup.create(GROUP) / "cgroup.procs"
    with log.open("a") as out:
        epmd = subprocess.Popen(
            [
                "sh",
                "-c",
                'echo $$ > "$1" && shift && exec "$@"',
                "roadie-lab-epmd",
                str(procs),
                "chroot",
                "--userspec=nobody:nogroup",
                str(image_rootfs),
                "/usr/bin/epmd",
                "-address",
                ",".join(["127.0.0.1", *addresses]),
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _wait_listening(epmd, log)
    return True


def _wait_listening(epmd: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + LISTEN_TIMEOUT_S
    while time.monotonic() < deadline:
        if epmd.poll() is not None:
            break
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    stop()
    raise RoadieError(
        f"the lab's epmd did not start listening on 127.0.0.1:{PORT} (see {log}); if another epmd "
        f"holds the port (`ss -ltnp sport = :{PORT}`), stop it or run 'roadie lab down' first"
    )


def stop() -> None:
    cgroup.kill(GROUP)
    cgroup.remove(GROUP)
