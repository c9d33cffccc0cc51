"""The app reaches Redis and its Sentinels over TLS only, verified against the internal CA:
the settings insist on it, the client hands redis-py the same verification for both, and the
Ansible role renders it. (Against a real TLS redis-server: test_redis_tls_server.py.)"""

import pytest
from redis.asyncio.connection import Connection, SSLConnection
from redis.asyncio.sentinel import SentinelManagedConnection, SentinelManagedSSLConnection

from app.common.redis import connect, tls_kwargs
from app.common.settings import RedisSettings, ServerTls, SettingsError, load_settings, settings_from
from tests.unit.tickets.test_tickets_settings import VALID, write

CA = "/etc/roadie-app/internal-ca.crt"


def with_redis_tls(tls):
    redis = {key: value for key, value in VALID["redis"].items() if key != "tls"}
    return {**VALID, "redis": redis if tls is None else {**redis, "tls": tls}}


def test_redis_without_tls_settings_is_refused_by_name(tmp_path):
    with pytest.raises(SettingsError, match=r"redis\.tls: missing: set it in .* or as \$ROADIE_APP__REDIS__TLS"):
        load_settings(write(tmp_path, with_redis_tls(None)))


@pytest.mark.parametrize("tls", [{}, {"enabled": True}, {"enabled": True, "root_cert": None}])
def test_tls_without_the_ca_to_verify_against_is_refused(tmp_path, tls):
    with pytest.raises(SettingsError, match=r"redis\.tls: .*root_cert \(the internal CA's certificate\) is required"):
        load_settings(write(tmp_path, with_redis_tls(tls)))


def test_tls_is_on_by_default_and_off_only_by_name(tmp_path):
    settings = load_settings(write(tmp_path, with_redis_tls({"root_cert": CA})))
    assert (settings.redis.tls.enabled, str(settings.redis.tls.root_cert)) == (True, CA)
    off = load_settings(write(tmp_path, with_redis_tls({"enabled": False})))
    assert not off.redis.tls.enabled


def test_an_unknown_tls_setting_is_refused(tmp_path):
    with pytest.raises(SettingsError, match=r"redis\.tls\.verify: Extra inputs are not permitted"):
        load_settings(write(tmp_path, with_redis_tls({"root_cert": CA, "verify": False})))


def test_the_ca_may_come_from_the_environment():
    settings = settings_from(with_redis_tls({}), {"ROADIE_APP__REDIS__TLS__ROOT_CERT": CA})
    assert str(settings.redis.tls.root_cert) == CA


def test_the_kwargs_require_a_certificate_from_the_ca_naming_the_host():
    assert tls_kwargs(CA) == {
        "ssl": True,
        "ssl_ca_certs": CA,
        "ssl_cert_reqs": "required",
        "ssl_check_hostname": True,
    }


def client_of(tls: ServerTls):
    return connect(
        RedisSettings(
            sentinels=[{"host": "127.0.0.9", "port": 1}, {"host": "127.0.0.8", "port": 1}],
            master_name="roadie",
            sentinel_password="p",
            user="u",
            password="p",
            tls=tls,
        )
    )


def test_the_master_and_every_sentinel_connect_over_verified_tls():
    client = client_of(ServerTls(root_cert=CA))
    master_pool = client.connection_pool
    assert master_pool.connection_class is SentinelManagedSSLConnection
    sentinel_pools = [s.connection_pool for s in master_pool.sentinel_manager.sentinels]
    assert [pool.connection_class for pool in sentinel_pools] == [SSLConnection, SSLConnection]
    for pool in (master_pool, *sentinel_pools):
        verify = {key: pool.connection_kwargs[key] for key in ("ssl_ca_certs", "ssl_cert_reqs", "ssl_check_hostname")}
        assert verify == {"ssl_ca_certs": CA, "ssl_cert_reqs": "required", "ssl_check_hostname": True}
    # What each connection will build its SSL context from.
    context = master_pool.make_connection().ssl_context
    assert (context.ca_certs, context.check_hostname) == (CA, True)
    assert sentinel_pools[0].make_connection().ssl_context.ca_certs == CA


def test_tls_turned_off_by_name_connects_in_plain_tcp():
    client = client_of(ServerTls(enabled=False))
    assert client.connection_pool.connection_class is SentinelManagedConnection
    assert {s.connection_pool.connection_class for s in client.connection_pool.sentinel_manager.sentinels} == {
        Connection
    }
