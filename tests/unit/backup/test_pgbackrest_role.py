"""The pgbackrest role renders the production shape: an encrypted S3 repository and a yearly
archive on the repository host, members that reach it over TLS, and the design's schedule."""

import configparser

from tests.unit.backup.render import render, variables

HOSTVARS = {
    "db-1": {"roadie_address": "10.1.1.11"},
    "db-2": {"roadie_address": "10.1.2.11"},
    "backup": {"roadie_address": "10.1.0.81"},
}
for name in ("db-1", "db-2"):
    HOSTVARS[name]["pgbackrest_member"] = {
        "address": HOSTVARS[name]["roadie_address"],
        "path": "/var/lib/postgresql/15/main",
        "socket": "/run/postgresql",
        "port": 5432,
        "config": "/etc/pgbackrest/pgbackrest.conf",
    }
GROUPS = {"postgres": ["db-1", "db-2"], "backup_repo": ["backup"]}
SECRETS = {
    "pgbackrest_repo_cipher_pass": "c" * 32,
    "pgbackrest_archive_repo_cipher_pass": "a" * 32,
    "pgbackrest_repo_s3_bucket": "roadie-backups",
    "pgbackrest_archive_repo_s3_bucket": "roadie-archive",
    "pgbackrest_pg_superuser_password": "p" * 24,
}


def text(host: str, **overrides) -> str:
    return render(
        "pgbackrest", "pgbackrest.conf.j2", variables("pgbackrest", host, HOSTVARS, GROUPS, **SECRETS, **overrides)
    )


def config(host: str, **overrides) -> configparser.ConfigParser:
    # pgBackRest repeats some keys (tls-server-auth); configparser keeps the last one.
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read_string(text(host, **overrides))
    return parser


def test_repository_host_keeps_encrypted_backups_90_days_and_a_yearly_archive():
    conf = config("backup")["global"]
    assert conf["repo1-type"] == "s3"
    assert conf["repo1-s3-bucket"] == "roadie-backups"
    assert conf["repo1-cipher-type"] == "aes-256-cbc"
    assert conf["repo1-cipher-pass"] == "c" * 32
    assert (conf["repo1-retention-full-type"], conf["repo1-retention-full"]) == ("time", "90")
    assert conf["repo2-s3-bucket"] == "roadie-archive"
    assert conf["repo2-cipher-pass"] == "a" * 32
    assert (conf["repo2-retention-full-type"], conf["repo2-retention-full"]) == ("count", "7")
    assert conf["backup-standby"] == "y"


def test_repository_host_reaches_every_member_over_tls_and_accepts_only_them():
    conf = config("backup")
    stanza = conf["roadie"]
    assert stanza["pg1-host"] == "10.1.1.11"
    assert stanza["pg2-host"] == "10.1.2.11"
    assert stanza["pg1-host-type"] == "tls"
    assert conf["global"]["tls-server-address"] == "10.1.0.81"
    auth = [line for line in text("backup").splitlines() if line.startswith("tls-server-auth=")]
    assert auth == ["tls-server-auth=db-1=roadie", "tls-server-auth=db-2=roadie"]


def test_members_push_wal_to_the_repository_host_and_hold_no_cipher_pass():
    conf = config("db-1")
    glob = conf["global"]
    assert glob["repo1-host"] == "10.1.0.81"
    assert glob["repo2-host"] == "10.1.0.81"
    assert glob["repo1-host-type"] == "tls"
    assert glob["repo1-host-config"] == "/etc/pgbackrest/pgbackrest.conf"
    assert glob["tls-server-auth"] == "backup=roadie"
    assert glob["tls-server-address"] == "10.1.1.11"
    assert not any("cipher" in key for key in glob)
    assert conf["roadie"]["pg1-path"] == "/var/lib/postgresql/15/main"


def test_lab_style_posix_repository():
    conf = config("backup", pgbackrest_repo_type="posix", pgbackrest_repo_path="/var/lib/roadie/lab/backup/repo1")
    assert conf["global"]["repo1-type"] == "posix"
    assert "repo1-s3-bucket" not in conf["global"]


def test_schedule_follows_the_design_full_daily_incremental_every_6_hours_yearly_archive():
    values = variables("pgbackrest", "backup", HOSTVARS, GROUPS, **SECRETS)
    lines = [
        line for line in render("pgbackrest", "pgbackrest.cron.j2", values).splitlines() if line and line[0].isdigit()
    ]
    assert len(lines) == 3
    full, incr, yearly = lines
    assert full.startswith("0 1 * * * postgres") and full.endswith("--repo=1 --type=full backup")
    assert incr.startswith("0 7,13,19 * * *") and "--type=incr" in incr
    assert yearly.startswith("0 3 1 1 *") and "--repo=2 --type=full" in yearly


def test_pgpass_holds_the_superuser_password():
    values = variables("pgbackrest", "db-1", HOSTVARS, GROUPS, **SECRETS)
    assert render("pgbackrest", "pgpass.j2", values).splitlines()[-1] == "*:*:*:postgres:" + "p" * 24
