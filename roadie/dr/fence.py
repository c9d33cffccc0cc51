"""Fencing a lost region: nothing outside it may reach it any more.

In production this is the cloud's security-group / network-ACL change that isolates the
old region's subnets (and the DNS flip keeps clients away). In the lab it is an iptables
chain on the machine's OUTPUT path: connections to the region's addresses (127.R.0.0/16)
are refused unless they come from one of the region's own hosts (matched by their cgroup,
see LAB-NOTES), so the old region can still talk to itself and to the new primary region
(to be rebuilt as its standby) but takes no client connection, hence no write. SSH stays
open, as the management network (a bastion) does when a cloud region is fenced: the operator
rebuilds the region through it.
"""

import subprocess

from roadie.errors import RoadieError
from roadie.lab import cgroup

IPTABLES = "iptables"
SSH_PORT = 22
CHAIN_PREFIX = "ROADIE-FENCE-R"


def chain(region: int) -> str:
    return f"{CHAIN_PREFIX}{region}"


def network(region: int) -> str:
    return f"127.{region}.0.0/16"


def rules(region: int, hosts: list[str]) -> list[list[str]]:
    """The chain's rules, in order: the region's own hosts pass, SSH passes, every other TCP
    connection to the region is refused at once (no client hangs on a timeout)."""
    target = network(region)
    allowed = [
        ["-d", target, "-m", "cgroup", "--path", cgroup.relative_group(h), "-j", "RETURN"] for h in sorted(hosts)
    ]
    management = ["-d", target, "-p", "tcp", "--dport", str(SSH_PORT), "-j", "RETURN"]
    return [*allowed, management, ["-d", target, "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"]]


def fence(region: int, hosts: list[str]) -> None:
    """Isolate the region (idempotent: the chain is rebuilt from scratch)."""
    name = chain(region)
    if _iptables("-n", "-L", name, check=False).returncode != 0:
        _iptables("-N", name)
    _iptables("-F", name)
    for rule in rules(region, [h for h in hosts if cgroup.group_path(h).exists()]):
        _iptables("-A", name, *rule)
    if _iptables("-C", "OUTPUT", "-j", name, check=False).returncode != 0:
        _iptables("-I", "OUTPUT", "1", "-j", name)


def unfence(region: int) -> None:
    name = chain(region)
    while _iptables("-C", "OUTPUT", "-j", name, check=False).returncode == 0:
        _iptables("-D", "OUTPUT", "-j", name)
    if _iptables("-n", "-L", name, check=False).returncode == 0:
        _iptables("-F", name)
        _iptables("-X", name)


def fenced_regions() -> list[int]:
    """Every region with a fence chain, whether or not the chain is still hooked in."""
    listing = _iptables("-S", check=False).stdout.splitlines()
    prefix = f"-N {CHAIN_PREFIX}"
    return sorted(int(line.removeprefix(prefix)) for line in listing if line.startswith(prefix))


def unfence_all() -> list[int]:
    """Lift every region's fence: for a lab that is purged, whose hosts (and the cgroups the
    fence lets through) are gone. A fence left behind refuses the next lab's own peers
    (etcd members could not reach each other after a DR test that did not finish)."""
    regions = fenced_regions()
    for region in regions:
        unfence(region)
    return regions


def is_fenced(region: int) -> bool:
    return _iptables("-C", "OUTPUT", "-j", chain(region), check=False).returncode == 0


def _iptables(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([IPTABLES, "-w", *args], capture_output=True, text=True, check=False, timeout=30)
    if check and result.returncode != 0:
        raise RoadieError(f"iptables {' '.join(args)} failed: {result.stderr.strip()}")
    return result
