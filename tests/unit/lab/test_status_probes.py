"""`roadie lab status`'s role column, from each service's registry entry and its client,
against fake services on loopback (Patroni and HAProxy do not run here)."""

import json

from roadie.lab.probes import probe_role
from roadie.services import registry
from tests.unit.services.fake_http import closed_endpoint, serving

CSV = """# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status
pg_primary,db-2,,,,,,,,,,,,,,,,UP
pg_replicas,db-1,,,,,,,,,,,,,,,,UP
pg_replicas,db-3,,,,,,,,,,,,,,,,UP
"""


def service(kind: str, address: str, ports: dict[str, int]) -> registry.Service:
    entry = {"kind": kind, "name": kind, "address": address, "ports": ports}
    return registry.parse(json.dumps(entry), host="h-1", source="h-1:test.json")


def test_a_patroni_member_reports_its_role_timeline_and_lag():
    routes = {
        ("GET", "/patroni"): (200, {"patroni": {"name": "db-2"}, "role": "replica", "timeline": 4}),
        ("GET", "/cluster"): (
            200,
            {"members": [{"name": "db-2", "role": "sync_standby", "state": "streaming", "lag": 16}]},
        ),
    }
    with serving(routes) as member:
        entry = service("patroni", "127.0.0.1", {"restapi": member.endpoint.port, "postgresql": 5432})
        assert probe_role(entry, {}) == "sync standby (streaming, TL 4, lag 16)"


def test_haproxy_reports_its_ports_and_up_servers():
    with serving({("GET", "/;csv"): (200, CSV)}) as stats:
        entry = service("haproxy_pg", "127.0.0.1", {"primary": 5000, "replicas": 5001, "stats": stats.endpoint.port})
        assert probe_role(entry, {"haproxy_stats": "pw"}) == ":5000 -> db-2; :5001 -> db-1, db-3"


def test_an_unreachable_service_says_so():
    down = closed_endpoint()
    entry = service("patroni", down.address, {"restapi": down.port, "postgresql": 5432})
    assert probe_role(entry, {}) == "unreachable (ValueError)"
    assert probe_role(service("grafana", "127.0.0.1", {"http": 3000}), {}) == ""
