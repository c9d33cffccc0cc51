"""`roadie drill restore` as a drill of the common contract (`roadie.drills.contract`): the
point-in-time restore of `roadie.backup.restore`, judged against the inventory's objectives."""

import time
from collections.abc import Sequence
from pathlib import Path

from roadie.backup.pgbackrest import REPO_GROUP
from roadie.backup.report import write_restore_report
from roadie.backup.restore import RestoreResult, drill_restore
from roadie.drills.contract import Drill, DrillResult, Goal, Measurement, figures, invariant, judge
from roadie.drills.topology import Need
from roadie.lab.inventory import Lab
from roadie.lab.secrets import load_secrets

MEASUREMENTS = (
    Measurement("restore time", "s"),
    Measurement("pgBackRest restore", "s"),
    Measurement("recovery to the target", "s"),
    Measurement("WAL archived after the switch", "s"),
    Measurement("rows lost", "rows", objective=False),
    Measurement("markers after the target restored", "rows", objective=False),
)


class RestoreDrill(Drill):
    name = "restore"
    description = (
        "Point-in-time restore of the whole cluster from the pgBackRest repository into a fresh scratch "
        "instance, compared with the source as of the target time."
    )
    needs = (Need("postgres", 1), Need(REPO_GROUP, 1))
    measurements = MEASUREMENTS

    def __init__(self, keep: bool = False) -> None:
        self.keep = keep  # keep the scratch instance's files (to look at them)

    def run(self, lab: Lab, reports: Path, goals: Sequence[Goal]) -> DrillResult:
        started = time.time()
        restored = drill_restore(lab, load_secrets(lab.secrets_file), keep=self.keep)
        directory = reports / f"restore-{time.strftime('%Y%m%d-%H%M%S', time.gmtime(started))}"
        result = judged(restored, started, goals, directory)
        write_restore_report(result, restored)
        return result


def judged(restored: RestoreResult, started: float, goals: Sequence[Goal], directory: Path) -> DrillResult:
    """The restore's figures against the objectives, and its invariants: nothing committed
    before the target missing, nothing after it back, every table as the source had it."""
    measured = figures(
        RestoreDrill,
        {
            "restore time": restored.total_s,
            "pgBackRest restore": restored.restore_s,
            "recovery to the target": restored.recovery_s,
            "WAL archived after the switch": restored.archive_wait_s,
            "rows lost": restored.lost_rows,
            "markers after the target restored": restored.markers_after_target_restored,
        },
    )
    after = restored.markers_after_target_restored
    checks = (
        *judge(goals, measured),
        invariant("rows committed before the target, missing", restored.lost_rows, "= 0", restored.lost_rows == 0),
        invariant("markers committed after the target that came back", after, "= 0", after == 0),
        invariant("restored data matches the source", restored.verified, "yes", restored.verified),
    )
    return DrillResult(
        drill=RestoreDrill.name,
        description=RestoreDrill.description,
        started=started,
        target=(restored.scratch_address,),
        measured=measured,
        checks=checks,
        report=str(directory),
        details={"restore": restored.as_dict()},
    )
