"""Running the playbook again changes nothing; bad inventory values change nothing either."""

import pytest

from roadie.lab.converge import converge
from roadie.lab.playbook import run_playbook


def test_second_run_reports_no_changes(lab, running_hosts):
    run = converge(lab, "idempotence check")
    changed = {host: r["changed"] for host, r in run.recap.items() if r["changed"]}
    assert changed == {}, f"second run changed something (see {run.log_file})"
    assert set(run.recap) == {h.name for h in running_hosts}


@pytest.mark.parametrize(
    ("limit", "extra", "named"),
    [
        ("postgres", {"patroni_ttl": 10}, "patroni_ttl"),
        ("postgres", {"patroni_loop_wait": 10, "patroni_retry_timeout": 10}, "patroni_retry_timeout"),
        ("sentinel", {"sentinel_quorum": 4}, "sentinel_quorum"),
        ("cache-1", {"roadie_address": "10.1.1.21"}, "roadie_address"),
        ("postgres", {"patroni_ttl": "soon"}, "patroni_ttl"),
        ("redis", {"redis_min_replicas_to_write": 3}, "redis_min_replicas_to_write"),
    ],
)
def test_bad_inventory_value_is_rejected_before_anything_changes(lab, running_hosts, limit, extra, named):
    run = run_playbook(
        "site.yml",
        lab.root / "logs",
        inventory=lab.inventory_dir,
        limit=limit,
        extra_vars=extra,
        title="bad input check",
    )
    assert not run.ok
    assert sum(r["changed"] for r in run.recap.values()) == 0
    assert any(named in failure for failure in run.failures), run.failures
