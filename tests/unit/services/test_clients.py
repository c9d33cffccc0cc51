"""The service clients over the registry, against fake services on loopback (Patroni, etcd,
HAProxy and RabbitMQ do not run here): what they ask, and how they read the answers."""

import asyncio
import base64
import json
import ssl

import httpx
import pytest

from roadie import tls
from roadie.services import haproxy, internal_tls, patroni, rabbitmq, registry
from roadie.services.etcd import Etcd, client_urls
from roadie.services.patroni import AsyncPatroni, ClusterMember, Patroni
from roadie.services.redis import Sentinels
from roadie.services.registry import Endpoint
from tests.unit.services.fake_http import closed_endpoint, serving

CLUSTER = {
    "members": [
        {"name": "db-1", "role": "leader", "state": "running", "timeline": 3},
        {"name": "db-2", "role": "sync_standby", "state": "streaming", "timeline": 3, "lag": 0},
        {"name": "db-3", "role": "replica", "state": "stopped", "lag": "unknown"},
    ]
}


def entry(kind: str, endpoint: Endpoint, port: str, **detail: object) -> registry.Service:
    data = {"kind": kind, "name": kind, "address": endpoint.address, "ports": {port: endpoint.port}, **detail}
    return registry.parse(json.dumps(data), host="h-1", source="h-1:test.json")


def test_cluster_members_are_read_as_records():
    members = patroni.parse_cluster(json.dumps(CLUSTER))
    assert members[0] == ClusterMember("db-1", "leader", "running", timeline=3)
    assert members[1].lag == 0 and members[1].running
    assert members[2].lag is None and not members[2].running
    assert patroni.leaders(members) == ["db-1"]
    with pytest.raises(ValueError, match="no 'members' list"):
        patroni.parse_cluster('{"state": "running"}')


def test_the_cluster_is_asked_of_the_first_member_that_answers():
    with serving({("GET", "/cluster"): (200, CLUSTER)}) as up:
        down = closed_endpoint()
        client = Patroni.of([entry("patroni", down, "restapi"), entry("patroni", up.endpoint, "restapi")])
        assert [m.name for m in client.cluster() or ()] == ["db-1", "db-2", "db-3"]
    assert Patroni([down.url()]).cluster() is None


def test_an_answer_that_is_not_patronis_counts_as_no_answer():
    with serving({("GET", "/cluster"): (200, "<html>proxy error</html>")}) as wrong:
        assert Patroni([wrong.endpoint.url()]).cluster() is None


def test_a_member_is_primary_only_when_primary_answers_200():
    routes = {("GET", "/primary"): (200, {}), ("GET", "/health"): (200, {})}
    with (
        serving(routes) as primary,
        serving({("GET", "/primary"): (503, {}), ("GET", "/health"): (503, {})}) as replica,
    ):
        client = Patroni([primary.endpoint.url(), replica.endpoint.url()])
        assert client.is_primary(primary.endpoint.url())
        assert not client.is_primary(replica.endpoint.url())
        # A replica's 503 still says its Patroni runs; a closed port does not.
        assert client.answers(replica.endpoint.url())
        assert not client.answers(closed_endpoint().url())


def test_the_leaders_wal_position_comes_from_its_own_status():
    replica = {"role": "replica", "xlog": {"received_location": 10}}
    leader = {"role": "standby_leader", "xlog": {"replayed_location": 42}}
    with serving({("GET", "/patroni"): (200, replica)}) as one, serving({("GET", "/patroni"): (200, leader)}) as two:
        assert Patroni([one.endpoint.url(), two.endpoint.url()]).leader_position() == 42
        assert Patroni([one.endpoint.url()]).leader_position() is None


def test_the_async_client_reads_the_same_cluster():
    async def ask(urls: list[str]) -> tuple[ClusterMember, ...] | None:
        client = AsyncPatroni(urls, timeout=1.0)
        try:
            return await client.cluster()
        finally:
            await client.close()

    with serving({("GET", "/cluster"): (200, CLUSTER)}) as up:
        members = asyncio.run(ask([closed_endpoint().url(), up.endpoint.url()]))
    assert patroni.leaders(members or ()) == ["db-1"]


CSV = """# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status
pg_primary,db-1,,,,,,,,,,,,,,,,DOWN
pg_primary,db-2,,,,,,,,,,,,,,,,UP
"""


def test_haproxy_stats_are_read_with_the_stats_users_password():
    with serving({("GET", "/;csv"): (200, CSV)}) as stats:
        assert haproxy.HaproxyStats(entry("haproxy_pg", stats.endpoint, "stats"), "s3cret").up("pg_primary") == ["db-2"]
        authorization = stats.requests[0][2]["Authorization"]
    assert base64.b64decode(authorization.split()[1]).decode() == "stats:s3cret"


def test_a_refused_stats_page_is_an_error_not_an_empty_backend():
    with serving({("GET", "/;csv"): (401, "401 Unauthorized")}) as stats:
        client = haproxy.HaproxyStats(entry("loadbalancer", stats.endpoint, "stats"), "wrong")
        with pytest.raises(httpx.HTTPStatusError):
            client.up("app_nodes")


def test_etcd_status_is_asked_with_the_users_token():
    routes = {
        ("POST", "/v3/auth/authenticate"): (200, {"token": "tok-1"}),
        ("POST", "/v3/maintenance/status"): (200, {"header": {"member_id": "7"}, "leader": "7"}),
    }
    with serving(routes) as member:
        service = entry("etcd", member.endpoint, "client")
        assert Etcd(service, "root-password").status().is_leader
        assert member.requests[1][2]["Authorization"] == "tok-1"
    assert client_urls([service]) == [member.endpoint.url()]


def test_a_wrong_etcd_password_is_an_error():
    routes = {("POST", "/v3/auth/authenticate"): (401, {"error": "authentication failed"})}
    with serving(routes) as member, pytest.raises(httpx.HTTPStatusError):
        Etcd(entry("etcd", member.endpoint, "client"), "wrong").status()


def test_a_rabbitmq_node_names_its_cluster_in_its_metrics():
    metrics = (
        "# TYPE rabbitmq_identity_info untyped\n"
        'rabbitmq_identity_info{rabbitmq_node="rabbit@mq-1",rabbitmq_cluster="roadie"} 1\n'
    )
    with serving({("GET", "/metrics"): (200, metrics)}) as node:
        assert rabbitmq.RabbitMQ(entry("rabbitmq", node.endpoint, "prometheus")).cluster() == "roadie"
    assert rabbitmq.cluster_name("rabbitmq_build_info 1\n") is None


def test_sentinels_watch_the_master_name_the_registry_records():
    sentinel = entry("sentinel", Endpoint("10.1.1.21", 26379), "sentinel", master_name="tickets")
    sentinels = Sentinels.of([sentinel], "pw")
    assert (sentinels.endpoints, sentinels.master_name) == ((Endpoint("10.1.1.21", 26379),), "tickets")


@pytest.fixture
def internal_ca(tmp_path, monkeypatch):
    """A CA of its own, trusted by this test's clients as `roadie lab up`'s is by the lab's."""
    files = tls.TlsFiles(tmp_path / "ca")
    tls.ensure_ca(files, "test")
    monkeypatch.setenv(internal_tls.DIR_VARIABLE, str(files.directory))
    # The contexts are made once per process: made afresh for this CA, and again after it.
    internal_tls.http_verify.cache_clear()
    yield files
    internal_tls.http_verify.cache_clear()


def test_redis_clients_verify_the_server_against_the_ca_and_its_address(internal_ca):
    client = Sentinels((Endpoint("10.1.1.21", 26379),), "pw").client(Endpoint("10.1.1.21", 26379))
    kwargs = client.connection_pool.connection_kwargs
    assert client.connection_pool.connection_class.__name__ == "SSLConnection"
    assert (kwargs["ssl_ca_certs"], kwargs["ssl_cert_reqs"], kwargs["ssl_check_hostname"]) == (
        str(internal_ca.ca_cert),
        "required",
        True,
    )


def test_amqp_clients_verify_the_node_against_the_ca_only_and_its_address(internal_ca):
    options = internal_tls.amqp_ssl_options("10.1.1.41")
    assert options.server_hostname == "10.1.1.41"
    assert options.context.verify_mode == ssl.CERT_REQUIRED and options.context.check_hostname
    # Only the internal CA: no system store beside it.
    assert [ca["subject"] for ca in options.context.get_ca_certs()] == [
        ca["subject"] for ca in ssl.create_default_context(cafile=str(internal_ca.ca_cert)).get_ca_certs()
    ]
    assert len(options.context.get_ca_certs()) == 1


def test_redis_clients_refuse_to_run_without_a_ca(monkeypatch):
    monkeypatch.delenv(internal_tls.DIR_VARIABLE, raising=False)
    with pytest.raises(RuntimeError, match=internal_tls.DIR_VARIABLE):
        internal_tls.redis_options()


def test_no_master_when_no_sentinel_answers(internal_ca):
    # Real redis clients against closed ports: refused at once, no retry.
    assert Sentinels((closed_endpoint(), closed_endpoint()), "pw", timeout=0.5).master() is None
