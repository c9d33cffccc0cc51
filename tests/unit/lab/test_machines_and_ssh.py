"""Lab machines and SSH: a guest reboot boots the machine again, a disk is never attached to
another base image, the SSH client files pin every host's key, commands are quoted for sudo,
and systemd's answers are read per unit."""

import shlex
import subprocess

import pytest

from roadie.errors import RoadieError
from roadie.lab import hosts, machines, ssh


def test_the_starter_boots_again_after_a_reboot_and_stops_on_a_power_off(tmp_path):
    """The machine's starter shell: exit status 133 (a reboot) boots again, any other ends it."""
    procs, runs = tmp_path / "cgroup.procs", tmp_path / "runs"
    fake_nspawn = f'echo x >> {runs}; n=$(wc -l < {runs}); [ "$n" -lt 3 ] && exit 133; exit 7'
    result = subprocess.run(["sh", "-c", machines.STARTER, "starter", str(procs), "sh", "-c", fake_nspawn], check=False)
    assert result.returncode == 7
    assert len(runs.read_text().splitlines()) == 3
    assert procs.read_text().strip().isdigit()  # it joined the host's group before booting


def test_a_disk_is_never_attached_to_another_base_image(tmp_path):
    machine = machines.Machine("db-1", "127.1.1.11", tmp_path / "db-1")
    machine.directory.mkdir()
    machine.image_stamp.write_text("aaaa\n")
    with pytest.raises(RoadieError, match="created from base image aaaa, not bbbb"):
        machines.mount(machine, "bbbb", tmp_path / "rootfs")


def test_ssh_client_files_pin_each_hosts_key_and_multiplex(tmp_path):
    files = ssh.SshFiles(tmp_path / "ssh")
    ssh.write_client_files(files, [("db-1", "127.1.1.11", "ssh-ed25519 AAAAkey db-1")])
    assert files.known_hosts.read_text() == "db-1,127.1.1.11 ssh-ed25519 AAAAkey\n"
    config = files.config.read_text()
    assert "Host db-1 127.1.1.11\n  HostName 127.1.1.11" in config
    assert "StrictHostKeyChecking yes" in config
    assert f"UserKnownHostsFile {files.known_hosts}" in config
    assert "ControlPersist" in config
    assert oct(files.config.stat().st_mode & 0o777) == "0o600"


def test_remote_commands_go_through_sudo_quoted():
    line = ssh.remote_command(["psql", "-c", "select 'a b'"], user="postgres", env={"PGPASSFILE": "/x y"})
    assert shlex.split(line) == [
        "sudo",
        "-n",
        "-u",
        "postgres",
        "--",
        "env",
        "PGPASSFILE=/x y",
        "psql",
        "-c",
        "select 'a b'",
    ]
    assert shlex.split(ssh.remote_command(["true"])) == ["sudo", "-n", "--", "true"]


def test_systemctl_show_is_read_per_unit():
    shown = "Id=redis.service\nActiveState=active\nMainPID=42\n\nId=patroni.service\nActiveState=failed\nMainPID=0\n"
    states = hosts.parse_show(shown)
    assert states == [hosts.ServiceState("redis", "RUNNING", 42), hosts.ServiceState("patroni", "FAILED", 0)]


def test_kernel_limits_are_raised_to_their_minimum_and_never_lowered(tmp_path):
    (tmp_path / "fs/inotify").mkdir(parents=True)
    instances = tmp_path / "fs/inotify/max_user_instances"
    watches = tmp_path / "fs/inotify/max_user_watches"
    instances.write_text("128\n")
    watches.write_text("9999999\n")
    changes = machines.raise_kernel_limits(tmp_path)
    assert changes == ["fs.inotify.max_user_instances: 128 -> 8192"]
    assert instances.read_text() == "8192\n"
    assert watches.read_text() == "9999999\n"
    assert machines.raise_kernel_limits(tmp_path) == []
