"""The etcd leader never stays on the PostgreSQL primary's host (role patroni's placement
service), so that losing the primary's host never also costs an etcd election (which renews
Patroni's leader lease to its full ttl)."""

import json
import os
import subprocess

from roadie.drills import cluster
from roadie.drills.endpoints import discover
from roadie.services import internal_tls, registry
from tests.support import wait_until


def etcd_leader_host(lab, password):
    endpoints = {registry.service(host, "etcd").url("client"): host.name for host in lab.group("etcd")}
    answer = subprocess.run(
        ["etcdctl", f"--endpoints={','.join(endpoints)}", "endpoint", "status", "-w", "json"],
        env={
            **os.environ,
            "ETCDCTL_API": "3",
            "ETCDCTL_USER": f"root:{password}",
            "ETCDCTL_CACERT": str(internal_tls.files().ca_cert),
        },
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    )
    statuses = json.loads(answer.stdout)
    return next(
        endpoints[s["Endpoint"]] for s in statuses if s["Status"]["header"]["member_id"] == s["Status"]["leader"]
    )


def test_etcd_leader_is_not_on_the_primary_host(lab, lab_secrets):
    endpoints = discover(lab)
    wait_until(
        lambda: etcd_leader_host(lab, lab_secrets["etcd_root"]) != cluster.patroni_leader(endpoints),
        30,
        "the etcd leader to leave the PostgreSQL primary's host",
    )
