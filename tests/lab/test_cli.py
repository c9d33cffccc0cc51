"""The roadie CLI against the running lab: status, logs, and one-line errors."""

import subprocess
import sys
from pathlib import Path

ROADIE = str(Path(sys.executable).parent / "roadie")


def roadie(*args):
    return subprocess.run([ROADIE, *args], capture_output=True, text=True, timeout=120, check=False)


def test_status_shows_every_running_host_with_roles(running_hosts):
    result = roadie("lab", "status")
    assert result.returncode == 0, result.stderr
    for host in running_hosts:
        assert host.name in result.stdout
    for role in ("leader", "sync standby", "Redis master", "quorum OK"):
        assert role in result.stdout
    assert "POWERED OFF" not in result.stdout
    assert "Aerospike" in result.stdout  # the stand-ins are stated


def test_logs_show_a_service_log(running_hosts):
    result = roadie("lab", "logs", "db-1", "patroni", "-n", "5")
    assert result.returncode == 0, result.stderr
    assert 0 < len(result.stdout.splitlines()) <= 5


def test_unknown_host_is_one_line_error_without_traceback(running_hosts):
    result = roadie("lab", "logs", "no-such-host")
    assert result.returncode == 1
    assert "no lab host named 'no-such-host'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) == 1


def test_unknown_profile_is_refused(running_hosts):
    result = roadie("lab", "up", "--profile", "huge")
    assert result.returncode == 1
    assert "unknown profile 'huge'" in result.stderr
