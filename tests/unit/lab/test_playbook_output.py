"""Parsing ansible-playbook output into progress, failures and the recap."""

from pathlib import Path

import pytest

from roadie.errors import RoadieError
from roadie.lab.playbook import PlaybookRun, Progress, raise_for_failure

OUTPUT = """\
PLAY [Run the etcd cluster] ****
TASK [etcd : Check the etcd settings] ****
fatal: [db-1]: FAILED! =>
    msg: 'etcd settings rejected: etcd_cluster_group must have an odd number of members'
PLAY RECAP ****
db-1                       : ok=3    changed=1    unreachable=0    failed=1    skipped=0    rescued=0    ignored=0
db-2                       : ok=20   changed=0    unreachable=0    failed=0    skipped=3    rescued=0    ignored=0
"""


def test_recap_failures_and_task_count_are_parsed():
    run = PlaybookRun(returncode=2, log_file=Path("/dev/null"), seconds=0)
    shown = []
    progress = Progress(shown.append, "t")
    for line in OUTPUT.splitlines():
        progress.follow(line, run)
    assert progress.tasks == 1
    assert "etcd : Check the etcd settings" in shown[-1]
    assert run.recap["db-1"] == {"ok": 3, "changed": 1, "unreachable": 0, "failed": 1}
    assert run.recap["db-2"]["changed"] == 0
    assert run.changed == 1
    assert run.failures[0].startswith("fatal: [db-1]")
    assert "odd number of members" in run.failures[1]


# ansible-core 2.19 prints the error before the host line; both hosts share the task.
OUTPUT_219 = """\
TASK [etcd : Wait for the etcd cluster to be healthy] ****
[ERROR]: Task failed: Module failed: Request failed: <urlopen error [Errno 111] Connection refused>
fatal: [db-1]: FAILED! => {"attempts": 60}
fatal: [db-2]: FAILED! => {"attempts": 60}
"""


def test_a_failure_names_the_task_and_its_hosts():
    run = PlaybookRun(returncode=2, log_file=Path("/dev/null"), seconds=0)
    progress = Progress(lambda _: None, "t")
    for line in OUTPUT_219.splitlines():
        progress.follow(line, run)
    assert run.failed_tasks == {"etcd : Wait for the etcd cluster to be healthy": ["db-1", "db-2"]}
    with pytest.raises(RoadieError) as raised:
        raise_for_failure(run, "Bringing the lab up")
    message = raised.value.message
    assert message.startswith(
        "Bringing the lab up failed: task 'etcd : Wait for the etcd cluster to be healthy' failed on db-1, db-2;"
    )
    assert "Connection refused" in message
