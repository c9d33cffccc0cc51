"""The pgbackrest role installs roadie's release for the status exporter on the repository host
(the roadie_release role, as the app role does), and takes the first full backup right after
stanza-create when pgBackRest lists none."""

import json

import pytest
import yaml

from roadie.paths import ansible_dir
from tests.unit.backup.render import expression, variables

ROLES = ansible_dir() / "roles"
TASKS = ROLES / "pgbackrest" / "tasks"
HOSTVARS = {
    "db-1": {"roadie_address": "10.1.1.11"},
    "pg-lb": {"roadie_address": "10.1.0.52"},
    "backup": {"roadie_address": "10.1.0.81"},
}
GROUPS = {"postgres": ["db-1"], "pg_lb": ["pg-lb"], "backup_repo": ["backup"]}


def tasks(name: str) -> list[dict]:
    return yaml.safe_load((TASKS / name).read_text())


def task(name: str, title: str) -> dict:
    return next(t for t in tasks(name) if t["name"] == title)


def values(host: str = "backup", **overrides) -> dict:
    return variables("pgbackrest", host, HOSTVARS, GROUPS, **overrides)


def value(text: str, host: str = "backup", **overrides) -> object:
    return expression(values(host, **overrides), text)


# --- roadie's release on the repository host --------------------------------------------------


def test_the_exporter_runs_from_the_release_installed_on_the_repository_host():
    exporter = tasks("exporter.yml")
    install = next(t for t in exporter if t.get("ansible.builtin.include_role", {}).get("name") == "roadie_release")
    assert value(install["vars"]["roadie_release_venv"]) == "/opt/roadie/venv"
    assert value(install["vars"]["roadie_release_wheel"], roadie_wheel="/dist/roadie-1-py3-none-any.whl") == (
        "/dist/roadie-1-py3-none-any.whl"
    )
    # Recorded only once the exporter answers: a run that fails before installs again.
    assert install["vars"]["roadie_release_record"] is False
    names = [t["name"] for t in exporter]
    assert names.index("Wait for the status exporter to answer") < names.index(
        "Record the roadie release the exporter runs"
    )
    record = exporter[-1]
    assert record["ansible.builtin.include_role"] == {"name": "roadie_release", "tasks_from": "record"}
    assert record["when"] == "roadie_release_new"
    command = next(t for t in exporter if t.get("ansible.builtin.include_role", {}).get("name") == "service_unit")
    assert value(command["vars"]["service_unit_command"][0]) == "/opt/roadie/venv/bin/python"


@pytest.mark.parametrize(("host", "expected"), [("backup", ["pgbackrest", "postgresql-15"]), ("db-1", ["pgbackrest"])])
def test_only_the_repository_host_gets_postgresql_for_restore_drills(host, expected):
    apt = next(t for t in tasks("main.yml") if "ansible.builtin.apt" in t)["ansible.builtin.apt"]
    assert value(apt["name"], host) == expected


def test_the_lab_installs_the_exporter_as_production_does():
    lab = yaml.safe_load((ansible_dir() / "inventories" / "lab" / "group_vars" / "backup_repo.yml").read_text())
    assert not {k for k in lab if "python" in k or k.endswith("_source")}
    assert "pgbackrest_exporter_user" not in lab


# --- the first full backup ------------------------------------------------------------------

FIRST_BACKUP = "Take the first full backup"


def _info(backups: list[dict], *, held: bool = False, code: int = 2) -> str:
    return json.dumps(
        [
            {
                "name": "roadie",
                "backup": backups,
                "status": {"code": code, "message": "", "lock": {"backup": {"held": held}}},
            }
        ]
    )


def _backup(kind: str, repo: int) -> dict:
    return {"label": f"20260101-010000{kind[0].upper()}", "type": kind, "database": {"id": 1, "repo-key": repo}}


def _takes_backup(info: str, **overrides) -> bool:
    step = task("stanza.yml", FIRST_BACKUP)
    context = {**values(**overrides), "pgbackrest_info": {"stdout": info}}
    context.update({name: expression(context, text) for name, text in step["vars"].items()})
    return all(expression(context, "{{ " + str(rule) + " }}") for rule in step["when"])


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        (_info([], code=1), True),  # no stanza before this run: created just above
        (_info([]), True),  # stanza, no backup
        (_info([_backup("full", 2)]), True),  # only the yearly archive
        (_info([_backup("full", 1), _backup("incr", 1)]), False),  # a second run
        (_info([], held=True), False),  # a backup (the schedule's) is running
    ],
    ids=["no-stanza", "no-backup", "archive-only", "has-full", "backup-running"],
)
def test_the_first_full_backup_is_taken_only_when_repository_1_has_none(info, expected):
    assert _takes_backup(info) is expected


def test_the_first_full_backup_can_be_turned_off():
    assert _takes_backup(_info([]), pgbackrest_initial_backup=False) is False


def test_the_first_full_backup_is_the_schedules_backup_after_the_stanza_exists():
    stanza = tasks("stanza.yml")
    names = [t["name"] for t in stanza]
    assert names.index("Create the stanza (the primary must be up)") < names.index(FIRST_BACKUP)
    assert names.index("Check that WAL reaches the repositories and the members answer") < names.index(FIRST_BACKUP)
    argv = [str(value(arg)) for arg in task("stanza.yml", FIRST_BACKUP)["ansible.builtin.command"]["argv"]]
    # As pgBackRest's user on the repository host, like cron and `roadie backup run --type full`;
    # the configuration's backup-standby copies the files from a standby.
    assert argv == [
        "runuser",
        "-u",
        "postgres",
        "--",
        "/usr/bin/pgbackrest",
        "--config=/etc/pgbackrest/pgbackrest.conf",
        "--stanza=roadie",
        "--repo=1",
        "--type=full",
        "backup",
    ]
    # The stanza tasks (and so the backup) run on the repository host only, before the exporter.
    main = tasks("main.yml")
    includes = [t.get("ansible.builtin.include_tasks") for t in main]
    assert includes.index("stanza.yml") < includes.index("exporter.yml")
    assert main[includes.index("stanza.yml")]["when"] == "_pgbackrest_is_repo_host | bool"
