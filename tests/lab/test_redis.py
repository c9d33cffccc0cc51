"""Redis + Sentinel: TLS only from the internal CA, authentication required, quorum
everywhere, Sentinel discovery works."""

import uuid

import pytest
import redis
from redis.sentinel import Sentinel

from roadie import tls
from roadie.services import internal_tls
from tests.support import manifest, wait_until


def sentinel_addresses(lab):
    return [
        (manifest(h, "sentinel")["address"], int(manifest(h, "sentinel")["ports"]["sentinel"]))
        for h in lab.group("sentinel")
    ]


def sentinel_client(lab, secrets):
    return Sentinel(
        sentinel_addresses(lab),
        sentinel_kwargs={"password": secrets["sentinel"], "socket_timeout": 2, **internal_tls.redis_options()},
        username="app",
        password=secrets["redis_app"],
        socket_timeout=2,
        **internal_tls.redis_options(),
    )


def endpoints(lab):
    """Every Redis server and Sentinel: (address, port)."""
    servers = [manifest(h, "redis") for h in lab.group("redis")]
    return [(e["address"], int(e["ports"]["redis"])) for e in servers] + sentinel_addresses(lab)


def test_unauthenticated_commands_are_refused(lab, running_hosts):
    for host in lab.group("redis"):
        entry = manifest(host, "redis")
        client = redis.Redis(
            host=entry["address"], port=int(entry["ports"]["redis"]), socket_timeout=2, **internal_tls.redis_options()
        )
        with pytest.raises(redis.AuthenticationError):
            client.get("anything")


def test_every_sentinel_reports_quorum(lab, lab_secrets, running_hosts):
    for address, port in sentinel_addresses(lab):
        client = redis.Redis(
            host=address,
            port=port,
            password=lab_secrets["sentinel"],
            decode_responses=True,
            **internal_tls.redis_options(),
        )
        assert str(client.execute_command("SENTINEL", "CKQUORUM", "roadie")).startswith("OK 3 usable")


def test_sentinel_refuses_clients_without_its_password(lab, running_hosts):
    address, port = sentinel_addresses(lab)[0]
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(host=address, port=port, socket_timeout=2, **internal_tls.redis_options()).execute_command(
            "SENTINEL", "get-master-addr-by-name", "roadie"
        )


def test_client_discovering_the_master_through_sentinel_writes_and_reads(lab, lab_secrets, running_hosts):
    sentinel = sentinel_client(lab, lab_secrets)
    master = sentinel.master_for("roadie")
    key, value = f"lab-check:{uuid.uuid4()}", str(uuid.uuid4())
    assert master.set(key, value, ex=60)
    assert master.get(key).decode() == value
    replica = sentinel.slave_for("roadie")
    assert wait_until(lambda: replica.get(key) == value.encode(), 10, "the key on a replica")


def test_app_user_may_not_run_dangerous_commands(lab, lab_secrets, running_hosts):
    master = sentinel_client(lab, lab_secrets).master_for("roadie")
    with pytest.raises(redis.exceptions.NoPermissionError):
        master.flushall()
    with pytest.raises(redis.exceptions.NoPermissionError):
        master.config_get("*")


def test_master_requires_a_connected_replica_for_writes(lab, lab_secrets, running_hosts):
    address, port = sentinel_client(lab, lab_secrets).discover_master("roadie")
    admin = redis.Redis(
        host=address,
        port=port,
        username="admin",
        password=lab_secrets["redis_admin"],
        decode_responses=True,
        **internal_tls.redis_options(),
    )
    assert admin.config_get("min-replicas-to-write")["min-replicas-to-write"] == "1"
    assert admin.info("replication")["connected_slaves"] == 2


def test_plain_text_is_refused_by_every_server_and_sentinel(lab, lab_secrets, running_hosts):
    for address, port in endpoints(lab):
        plain = redis.Redis(host=address, port=port, password=lab_secrets["sentinel"], socket_timeout=2)
        with pytest.raises(redis.ConnectionError):
            plain.ping()


def test_a_certificate_from_another_ca_is_refused(lab, lab_secrets, running_hosts, tmp_path):
    other = tls.TlsFiles(tmp_path / "other-ca")
    tls.ensure_ca(other, "other")
    for address, port in endpoints(lab):
        foreign = {**internal_tls.redis_options(), "ssl_ca_certs": str(other.ca_cert)}
        client = redis.Redis(host=address, port=port, password=lab_secrets["sentinel"], socket_timeout=2, **foreign)
        with pytest.raises(redis.ConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            client.ping()


def test_replication_and_sentinel_links_run_over_tls_only(lab, lab_secrets, running_hosts):
    """No server has a plain-text port (port 0), each dials its master over TLS, and the
    replicas' links are up, so replication works over TLS; the Sentinels agree (quorum)."""
    master = sentinel_client(lab, lab_secrets).discover_master("roadie")
    for host in lab.group("redis"):
        entry = manifest(host, "redis")
        admin = redis.Redis(
            host=entry["address"],
            port=int(entry["ports"]["redis"]),
            username="admin",
            password=lab_secrets["redis_admin"],
            decode_responses=True,
            **internal_tls.redis_options(),
        )
        settings = admin.config_get("port") | admin.config_get("tls-replication")
        assert settings == {"port": "0", "tls-replication": "yes"}, (host, settings)
        replication = admin.info("replication")
        if (entry["address"], int(entry["ports"]["redis"])) != master:
            assert replication["master_link_status"] == "up", (host, replication)
