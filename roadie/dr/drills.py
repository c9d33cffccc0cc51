"""The region drills as drills of the common contract (`roadie.drills.contract`): the region
failover, then its failback (in this order: the failback starts from where the failover left
the lab)."""

from collections.abc import Sequence
from pathlib import Path

from roadie.dr import failback, failover
from roadie.drills.contract import Drill, DrillResult, Goal
from roadie.drills.topology import Need
from roadie.lab.inventory import Lab

# Region 1's cluster, and the DR region's standby cluster and DNS stand-in (full profile).
NEEDS = (Need("postgres", 3), Need("postgres_dr", 1), Need("dns_api", 1))


class DrFailover(Drill):
    name = failover.NAME
    description = failover.DESCRIPTION
    needs = NEEDS
    measurements = failover.MEASUREMENTS

    def run(self, lab: Lab, reports: Path, goals: Sequence[Goal]) -> DrillResult:
        return failover.run_drill(lab, reports, type(self), goals)


class DrFailback(Drill):
    name = failback.NAME
    description = failback.DESCRIPTION
    needs = NEEDS
    measurements = failback.MEASUREMENTS

    def run(self, lab: Lab, reports: Path, goals: Sequence[Goal]) -> DrillResult:
        return failback.run_drill(lab, reports, type(self), goals)
