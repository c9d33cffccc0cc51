#!/usr/bin/env python3
"""Keep the etcd leader off the host of the PostgreSQL primary.

When the primary's host dies and it also held the etcd leader, etcd elects a new leader and
(etcd's lessor) renews every lease to its full TTL: Patroni's leader key then outlives the
dead primary by the whole ttl plus the election, about 2-5 s more than when the etcd leader
survives. Run beside each Patroni member: while this member is the primary and its etcd
member leads, hand etcd's leadership to a healthy peer (`etcdctl move-leader`).

Standard library only (it runs on database hosts with the system Python). etcd's move-leader
needs its root user: the password is read from a file only root can read.
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any

PRIMARY_ROLES = {"primary", "master"}
TIMEOUT_S = 3.0

Etcdctl = Callable[[str, Sequence[str]], Any]


# The only call that needs etcd's root user. Status and member list answer without
# authenticating, and every authentication costs the etcd member a bcrypt hash: a check every
# few seconds that logged in would keep the database hosts' CPUs busy for nothing.
AUTHENTICATED = {"move-leader"}


def etcdctl_runner(binary: str, password_file: str, cafile: str | None = None) -> Etcdctl:
    """etcdctl against one endpoint (HTTPS verified against `cafile`'s CA); as root (password
    through the environment) only where the command needs it."""

    def run(endpoint: str, args: Sequence[str]) -> Any:
        env = {**os.environ, "ETCDCTL_API": "3"}
        if cafile:
            env["ETCDCTL_CACERT"] = cafile
        if args[0] in AUTHENTICATED:
            with open(password_file) as secret:
                env["ETCDCTL_USER"] = f"root:{secret.read().strip()}"
        out = subprocess.run(
            [binary, f"--endpoints={endpoint}", f"--command-timeout={TIMEOUT_S:g}s", *args, "-w", "json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S + 2,
            check=True,
        )
        return json.loads(out.stdout) if out.stdout.strip() else None

    return run


def patroni_role(url: str, context: ssl.SSLContext | None = None) -> str | None:
    """The member's role as its REST API says (HTTPS verified against `context`'s CA)."""
    try:
        with urllib.request.urlopen(f"{url}/patroni", timeout=TIMEOUT_S, context=context) as answer:
            return str(json.load(answer).get("role", ""))
    except urllib.error.HTTPError as exc:  # 503 from a replica still carries the JSON body
        return str(json.load(exc).get("role", ""))
    except (OSError, ValueError):
        return None


def status(etcdctl: Etcdctl, endpoint: str) -> tuple[int, int] | None:
    """(this member's id, the leader's id) as the member at `endpoint` sees them."""
    try:
        entry = etcdctl(endpoint, ["endpoint", "status"])[0]["Status"]
    except (subprocess.SubprocessError, OSError, ValueError, LookupError, TypeError):
        return None
    return int(entry["header"]["member_id"]), int(entry["leader"])


def healthy_peer(etcdctl: Etcdctl, endpoint: str, me: int) -> int | None:
    """A peer whose own status answers and agrees on the leader (a member that is up)."""
    members = etcdctl(endpoint, ["member", "list"])["members"]
    for member in members:
        if int(member["ID"]) == me:
            continue
        for url in member.get("clientURLs", []):
            if status(etcdctl, url) is not None:
                return int(member["ID"])
    return None


def place_once(etcdctl: Etcdctl, endpoint: str, patroni_url: str, context: ssl.SSLContext | None = None) -> str:
    """One check; returns what it did (for the log). Patroni is asked first: its REST API is
    cheap, while every etcdctl call authenticates (a bcrypt hash on the etcd side), which
    replicas, checking every few seconds, would otherwise pay for nothing."""
    if patroni_role(patroni_url, context) not in PRIMARY_ROLES:
        return "ok: this member is not the PostgreSQL primary"
    seen = status(etcdctl, endpoint)
    if seen is None:
        return "local etcd member does not answer"
    me, leader = seen
    if me != leader:
        return "ok: the etcd leader is elsewhere"
    peer = healthy_peer(etcdctl, endpoint, me)
    if peer is None:
        return "no healthy etcd peer to take the leadership"
    etcdctl(endpoint, ["move-leader", format(peer, "x")])
    return f"moved the etcd leadership from {me:x} to {peer:x}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--etcd", required=True, help="this host's etcd client URL")
    parser.add_argument("--patroni", required=True, help="this host's Patroni REST API URL")
    parser.add_argument("--password-file", required=True, help="file holding etcd's root password")
    parser.add_argument("--ca", help="internal CA file etcd's and the REST API's certificates are verified against")
    parser.add_argument("--etcdctl", default="etcdctl")
    parser.add_argument("--interval", type=float, default=2.0)
    args = parser.parse_args(argv)
    etcdctl = etcdctl_runner(args.etcdctl, args.password_file, args.ca)
    context = ssl.create_default_context(cafile=args.ca) if args.ca else None
    last = ""
    while True:
        try:
            did = place_once(etcdctl, args.etcd, args.patroni, context)
        except (subprocess.SubprocessError, OSError, ValueError, LookupError) as exc:
            did = f"check failed: {type(exc).__name__}: {exc}"
        if did != last or did.startswith("moved"):  # log changes, not every quiet check
            print(time.strftime("%Y-%m-%dT%H:%M:%S"), did, flush=True)
            last = did
        time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())
