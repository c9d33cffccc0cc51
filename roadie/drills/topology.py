"""What a drill needs of the lab's topology, so that `roadie drill all` skips, with one line
saying why, a drill the current profile cannot run (instead of waiting for a cluster that is
not there and failing)."""

from collections.abc import Iterable
from dataclasses import dataclass

from roadie.lab.inventory import Lab
from roadie.lab.plan import PROFILES, LabPlan


@dataclass(frozen=True)
class Need:
    """At least `hosts` hosts in inventory group `group`."""

    group: str
    hosts: int


def missing(needs: Iterable[Need], lab: Lab, plan: LabPlan) -> str | None:
    """Why the lab cannot run a drill with these needs, or None when it can. The profiles come
    from the plan, so the line names the profile that has the hosts."""
    for need in needs:
        have = len(lab.group(need.group))
        if have < need.hosts:
            return f"needs {need.hosts} {need.group} hosts, the {lab.profile} lab has {have}: {_remedy(need, plan)}"
    return None


def _remedy(need: Need, plan: LabPlan) -> str:
    profiles = [p for p in PROFILES if sum(need.group in h.roles for h in plan.for_profile(p)) >= need.hosts]
    return f"needs --profile {profiles[0]}" if profiles else "no lab profile has them"
