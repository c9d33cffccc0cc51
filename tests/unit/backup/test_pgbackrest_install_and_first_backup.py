"""The pgbackrest role installs roadie for the status exporter on the production repository host
(its own venv, reinstalled when the release's digest changes, as the app role does), and takes
the first full backup right after stanza-create when pgBackRest lists none."""

import json
import subprocess
from pathlib import Path

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
SOURCE = "/srv/roadie-release"


def tasks(name: str) -> list[dict]:
    return yaml.safe_load((TASKS / name).read_text())


def task(name: str, title: str) -> dict:
    return next(t for t in tasks(name) if t["name"] == title)


def values(host: str = "backup", **overrides) -> dict:
    return variables("pgbackrest", host, HOSTVARS, GROUPS, **overrides)


def value(text: str, host: str = "backup", **overrides) -> object:
    return expression(values(host, **overrides), text)


# --- roadie's venv on the repository host ---------------------------------------------------


def test_production_installs_roadie_into_the_venv_the_exporter_runs_from():
    assert value("{{ pgbackrest_exporter_python }}") == "/opt/roadie/venv/bin/python"
    assert value("{{ _pgbackrest_roadie_install | bool }}", pgbackrest_roadie_source=SOURCE) is True
    pip = task("roadie.yml", "Install roadie and its dependencies into the venv")["ansible.builtin.pip"]
    assert value(pip["name"], pgbackrest_roadie_source=SOURCE) == SOURCE
    assert value(pip["virtualenv"]) == "/opt/roadie/venv"
    assert value(pip["virtualenv_command"]) == "/usr/bin/python3 -m venv"
    apt = task("main.yml", "Install pgBackRest (and python3-venv for roadie's venv on the repository host)")
    assert value(apt["ansible.builtin.apt"]["name"], pgbackrest_roadie_source=SOURCE) == ["pgbackrest", "python3-venv"]


@pytest.mark.parametrize(
    ("host", "overrides"),
    [
        ("backup", {}),  # no source: the lab runs the exporter from its checkout's venv
        ("db-1", {"pgbackrest_roadie_source": SOURCE}),  # members run no exporter
        ("backup", {"pgbackrest_roadie_source": SOURCE, "pgbackrest_exporter_enabled": False}),
    ],
)
def test_nothing_is_installed_without_a_source_or_an_exporter(host, overrides):
    assert value("{{ _pgbackrest_roadie_install | bool }}", host, **overrides) is False
    apt = task("main.yml", "Install pgBackRest (and python3-venv for roadie's venv on the repository host)")
    assert value(apt["ansible.builtin.apt"]["name"], host, **overrides) == ["pgbackrest"]


def test_the_install_runs_only_for_a_new_release_and_is_recorded_once_the_exporter_answers():
    exporter = tasks("exporter.yml")
    names = [t["name"] for t in exporter]
    include = names.index("Install roadie into its venv")
    assert exporter[include]["when"] == "_pgbackrest_roadie_install | bool"
    assert include < names.index("Run the status exporter") < names.index("Wait for the status exporter to answer")
    assert names[-1] == "Record the roadie release the exporter runs"
    record = exporter[-1]["ansible.builtin.copy"]
    assert record["dest"] == "{{ _pgbackrest_roadie_release }}"
    assert "pgbackrest_roadie_digest.stdout" in record["content"]
    assert task("roadie.yml", "Install roadie and its dependencies into the venv")["when"] == (
        "pgbackrest_roadie_release_new | bool"
    )
    # A new release restarts the running exporter.
    unit = next(t for t in exporter if t["name"] == "Run the status exporter")["ansible.builtin.include_role"]
    restart = next(t for t in exporter if t["name"] == "Run the status exporter")["vars"]["service_unit_restart"]
    assert unit["name"] == "service_unit"
    base = {"pgbackrest_exporter_pgpass": {"changed": False}}
    assert expression({**values(), **base, "pgbackrest_roadie_release_new": "True"}, restart) is True
    assert expression({**values(), **base, "pgbackrest_roadie_release_new": "False"}, restart) is False
    assert expression({**values(), **base}, restart) is False  # the lab: nothing installed


def _digest(source: Path) -> str:
    command = task("roadie.yml", "Compute the digest of roadie's sources")["ansible.builtin.shell"]
    script = str(value(command, pgbackrest_roadie_source=str(source)))
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout.strip()


def test_the_release_digest_follows_roadies_code_and_dependencies_only(tmp_path):
    (tmp_path / "roadie" / "backup").mkdir(parents=True)
    (tmp_path / "app").mkdir()
    (tmp_path / "roadie" / "backup" / "exporter.py").write_text("print(1)\n")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "roadie"\n')
    (tmp_path / "app" / "main.py").write_text("x = 1\n")
    first = _digest(tmp_path)
    assert len(first) == 64
    (tmp_path / "app" / "main.py").write_text("x = 2\n")
    (tmp_path / "README.md").write_text("docs\n")
    assert _digest(tmp_path) == first
    (tmp_path / "roadie" / "backup" / "exporter.py").write_text("print(2)\n")
    second = _digest(tmp_path)
    assert second != first
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "roadie"\ndependencies = ["httpx"]\n')
    assert _digest(tmp_path) != second


def test_the_lab_keeps_running_the_exporter_from_the_checkouts_venv():
    lab = yaml.safe_load((ansible_dir() / "inventories" / "lab" / "group_vars" / "backup_repo.yml").read_text())
    assert "pgbackrest_roadie_source" not in lab
    assert lab["pgbackrest_exporter_python"].endswith("/.venv/bin/python")


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
