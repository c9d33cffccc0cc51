"""Reports of `roadie drill restore`: reports/restore-<time>/report.{json,md}."""

import json
import time
from pathlib import Path

from roadie.backup.restore import RestoreResult
from roadie.drills.contract import DrillResult
from roadie.drills.report import verdict_markdown


def write_restore_report(result: DrillResult, restored: RestoreResult) -> Path:
    directory = Path(result.report)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "report.json").write_text(json.dumps(result.as_dict(), indent=2, default=str))
    (directory / "report.md").write_text(markdown(result, restored))
    return directory


def markdown(result: DrillResult, restored: RestoreResult) -> str:
    markers = f"{restored.markers_expected} / {restored.markers_restored}"
    lines = [
        *verdict_markdown(result),
        "",
        f"Scratch instance on {restored.scratch_address}.",
        "",
        f"- started: {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(result.started))} UTC",
        f"- target time: {restored.target_time}",
        f"- base backup: {restored.backup_label} ({restored.backup_type}) + archived WAL up to the target",
        "",
        "| measurement | value |",
        "|---|---|",
        f"| WAL reached the archive after the switch (s) | {restored.archive_wait_s} |",
        f"| pgBackRest restore (s) | {restored.restore_s} |",
        f"| recovery to the target and promotion (s) | {restored.recovery_s} |",
        f"| **restore time (s)** | **{restored.total_s}** |",
        f"| markers committed before the target / restored | {markers} |",
        f"| markers committed after the target that came back (must be 0) | {restored.markers_after_target_restored} |",
        f"| **data loss (rows committed before the target, missing)** | **{restored.lost_rows}** |",
        "",
        "## Tables compared (row count and md5 of every row)",
        "",
        "| database | table | source rows | restored rows | match |",
        "|---|---|---|---|---|",
    ]
    for t in restored.tables:
        rows = "-" if t.restored_rows is None else str(t.restored_rows)
        match = "yes" if t.matches else ("written during the drill" if t.written_during_drill else "NO")
        lines.append(f"| {t.database} | {t.table} | {t.source_rows} | {rows} | {match} |")
    return "\n".join(lines) + "\n"
