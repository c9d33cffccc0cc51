"""The log scan for secrets: a secret in a log is found (as it is and percent-encoded in a URL),
named but never shown, and a log without any secret passes."""

from pathlib import Path

from roadie.lab import leaks

SECRETS = {"postgres_app": "Zq3-kP_9s/8vW+xY2aB7cD4e", "redis_admin": "yT5uI8oP1aS4dF7gH0jK3lZx", "short": "abc"}


def test_a_secret_in_a_log_line_is_found_by_name_and_line():
    logs = [
        ("db-1: journal", ["patroni: starting", "connect to postgresql://app:Zq3-kP_9s/8vW+xY2aB7cD4e@db-1/app"]),
        ("ansible.log", ["ok: [cache-1]"]),
    ]
    assert leaks.scan(logs, SECRETS) == [leaks.Leak("db-1: journal", 2, "postgres_app")]


def test_a_percent_encoded_secret_is_found_too():
    logs = [("app-1: journal", ["GET /?password=Zq3-kP_9s%2F8vW%2BxY2aB7cD4e"])]
    assert [leak.secret for leak in leaks.scan(logs, SECRETS)] == ["postgres_app"]


def test_two_secrets_on_a_line_are_two_findings_and_the_value_is_never_kept():
    line = "AUTH yT5uI8oP1aS4dF7gH0jK3lZx and Zq3-kP_9s/8vW+xY2aB7cD4e"
    found = leaks.scan([("x", [line])], SECRETS)
    assert {leak.secret for leak in found} == {"postgres_app", "redis_admin"}
    assert all(SECRETS[leak.secret] not in repr(leak) for leak in found)


def test_clean_logs_and_short_values_give_no_finding(tmp_path: Path):
    log = tmp_path / "ansible-site.log"
    log.write_text("TASK [redis : Set the password]\nchanged: [cache-1] => (item=None)\nabc abc abc\n")
    assert leaks.scan([(str(log), leaks._lines(log))], SECRETS) == []
