"""Reports of `roadie drill restore`: reports/restore-<time>/report.{json,md}."""

import json
import time
from pathlib import Path

from roadie.backup.restore import RestoreResult


def write_restore_report(reports: Path, result: RestoreResult, started: float) -> Path:
    directory = reports / f"restore-{time.strftime('%Y%m%d-%H%M%S', time.gmtime(started))}"
    directory.mkdir(parents=True, exist_ok=True)
    data = {"drill": "restore", "started": started, **result.as_dict()}
    (directory / "report.json").write_text(json.dumps(data, indent=2, default=str))
    (directory / "report.md").write_text(markdown(result, started))
    return directory


def markdown(result: RestoreResult, started: float) -> str:
    lines = [
        f"# Drill `restore` — {'PASSED' if result.verified else 'FAILED'}",
        "",
        "Point-in-time restore of the whole cluster from the pgBackRest repository into a fresh",
        f"scratch instance on {result.scratch_address}, compared with the source as of the target time.",
        "",
        f"- started: {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(started))} UTC",
        f"- target time: {result.target_time}",
        f"- base backup: {result.backup_label} ({result.backup_type}) + archived WAL up to the target",
        "",
        "| measurement | value |",
        "|---|---|",
        f"| WAL reached the archive after the switch (s) | {result.archive_wait_s} |",
        f"| pgBackRest restore (s) | {result.restore_s} |",
        f"| recovery to the target and promotion (s) | {result.recovery_s} |",
        f"| **restore time (s)** | **{result.total_s}** |",
        f"| markers committed before the target / restored | {result.markers_expected} / {result.markers_restored} |",
        f"| markers committed after the target that came back (must be 0) | {result.markers_after_target_restored} |",
        f"| **data loss (rows committed before the target, missing)** | **{result.lost_rows}** |",
        "",
        "## Tables compared (row count and md5 of every row)",
        "",
        "| database | table | source rows | restored rows | match |",
        "|---|---|---|---|---|",
    ]
    for t in result.tables:
        restored = "-" if t.restored_rows is None else str(t.restored_rows)
        match = "yes" if t.matches else ("written during the drill" if t.written_during_drill else "NO")
        lines.append(f"| {t.database} | {t.table} | {t.source_rows} | {restored} | {match} |")
    return "\n".join(lines) + "\n"
