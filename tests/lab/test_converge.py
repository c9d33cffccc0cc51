"""Running the playbook again changes nothing, also after hosts rebooted; bad inventory values
change nothing either."""

import httpx
import pytest

from roadie.errors import RoadieError
from roadie.lab import hosts
from roadie.lab.converge import converge
from roadie.lab.playbook import run_playbook
from roadie.services import internal_tls, registry
from tests.support import wait_until


def boot_id(host):
    return hosts.run(host, ["cat", "/proc/sys/kernel/random/boot_id"], timeout=10).stdout.strip()


def booted(host, before):
    try:
        return hosts.is_powered_on(host) and boot_id(host) != before
    except RoadieError:  # not reachable over SSH yet
        return False


def reboot(lab_hosts):
    """Reboot the hosts from inside (as an operator's `systemctl reboot`) and wait until each is
    back on a new boot."""
    before = {h.name: boot_id(h) for h in lab_hosts}
    for host in lab_hosts:
        hosts.run(host, ["systemctl", "reboot"], timeout=10, check=False)
    for host in lab_hosts:
        wait_until(lambda h=host: booted(h, before[h.name]), 90, f"{host.name} to boot again")


def a_database_replica(lab):
    for host in lab.group("postgres"):
        url = registry.service(host, "patroni").url("restapi", "/replica")
        if httpx.get(url, timeout=3, verify=internal_tls.http_verify()).status_code == 200:
            return host
    raise AssertionError("no database replica")


def test_second_run_reports_no_changes_also_after_a_reboot(lab, running_hosts):
    """A boot runs the packages' tmpfiles.d, which recreate run and log directories (HAProxy's,
    PostgreSQL's, pgBackRest's lock directory) with the packages' modes: the roles must own those
    rules, or every reboot leaves changes for the next run. A host of each such kind reboots."""
    rebooted = [a_database_replica(lab), *(lab.group(g)[0] for g in ("pg_lb", "lb", "backup_repo") if lab.group(g))]
    reboot(rebooted)
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
