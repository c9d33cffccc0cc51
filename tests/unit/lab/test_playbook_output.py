"""Parsing ansible-playbook output into progress, failures and the recap."""

from pathlib import Path

from roadie.lab.playbook import PlaybookRun, Progress

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
