"""The search's Redis client verifies the Sentinels and the master against the internal CA
(``tls_root_cert``), as the app's does; the role renders the CA the app role installs.
(Against a real TLS redis-server: tests/unit/tickets/test_redis_tls_server.py.)"""

import pytest
import yaml
from redis.asyncio.connection import Connection, SSLConnection
from redis.asyncio.sentinel import SentinelManagedConnection, SentinelManagedSSLConnection

from app.search import wiring
from app.search.redis_client import RedisSettings, connect
from tests.unit.search.test_search_role import rendered_settings
from tests.unit.search.test_search_wiring import BASE

CA = "/etc/roadie-app/internal-ca.crt"
SENTINELS = {"sentinels": [["10.0.1.21", 26379], ["10.0.2.21", 26379]], "service": "roadie"}
VERIFY = {"ssl_ca_certs": CA, "ssl_cert_reqs": "required", "ssl_check_hostname": True}


def verification(pool) -> dict:
    return {key: pool.connection_kwargs.get(key) for key in VERIFY}


def test_from_config_takes_the_ca_and_still_refuses_unknown_settings():
    settings = RedisSettings.from_config({**SENTINELS, "tls_root_cert": CA})
    assert settings.tls_root_cert == CA
    assert RedisSettings.from_config(SENTINELS).tls_root_cert is None
    with pytest.raises(ValueError, match=r"unknown Redis settings \['tls'\]"):
        RedisSettings.from_config({**SENTINELS, "tls": {"root_cert": CA}})


def test_sentinels_and_master_connect_over_verified_tls():
    client = connect(RedisSettings.from_config({**SENTINELS, "tls_root_cert": CA}))
    assert client.connection_pool.connection_class is SentinelManagedSSLConnection
    assert verification(client.connection_pool) == VERIFY
    sentinels = client.connection_pool.sentinel_manager.sentinels
    assert [s.connection_pool.connection_class for s in sentinels] == [SSLConnection, SSLConnection]
    assert all(verification(s.connection_pool) == VERIFY for s in sentinels)


def test_without_a_ca_the_client_connects_in_plain_tcp_as_before():
    client = connect(RedisSettings.from_config(SENTINELS))
    assert client.connection_pool.connection_class is SentinelManagedConnection
    assert {s.connection_pool.connection_class for s in client.connection_pool.sentinel_manager.sentinels} == {
        Connection
    }


def test_a_rediss_url_is_verified_against_the_ca():
    client = connect(RedisSettings(url="rediss://10.0.1.21:6379/0", tls_root_cert=CA))
    assert client.connection_pool.connection_class is SSLConnection
    assert verification(client.connection_pool) == VERIFY


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://10.0.1.21:6379/0", r"tls_root_cert needs a rediss:// url, not redis://"),
        ("rediss://10.0.1.21:6379/0?ssl_cert_reqs=none", r"the url sets \['ssl_cert_reqs'\]"),
        ("rediss://10.0.1.21:6379/0?ssl_check_hostname=false", r"the url sets \['ssl_check_hostname'\]"),
    ],
)
def test_a_url_that_would_drop_or_loosen_tls_is_refused(url, message):
    with pytest.raises(ValueError, match=message):
        RedisSettings(url=url, tls_root_cert=CA)


def test_an_empty_ca_is_refused_rather_than_read_as_no_tls():
    with pytest.raises(ValueError, match="tls_root_cert is empty"):
        RedisSettings.from_config({**SENTINELS, "tls_root_cert": ""})


def test_the_search_file_and_the_environment_set_the_ca(tmp_path):
    path = tmp_path / "search.yml"
    path.write_text(yaml.safe_dump({**BASE, "redis": {**BASE["redis"], "tls_root_cert": CA}}))
    assert wiring.load_settings(path, environ={}).redis_settings().tls_root_cert == CA
    path.write_text(yaml.safe_dump(BASE))
    env = {"ROADIE_SEARCH__REDIS__TLS_ROOT_CERT": "/other/ca.crt"}
    assert wiring.load_settings(path, environ=env).redis_settings().tls_root_cert == "/other/ca.crt"


def test_the_redis_offer_store_shares_the_ca():
    settings = wiring.SearchSettings.model_validate({**BASE, "redis": {**BASE["redis"], "tls_root_cert": CA}})
    backend, options = settings.offer_store_options()
    assert (backend, options["tls_root_cert"]) == ("redis", CA)


def test_the_role_renders_the_ca_the_app_role_installs_beside_search_yml():
    settings = rendered_settings()
    assert settings.redis["tls_root_cert"] == CA  # app_search_config_dir (role app's app_config_dir)
    assert settings.redis_settings().tls_root_cert == CA
    assert rendered_settings(app_search_config_dir="/srv/app").redis["tls_root_cert"] == "/srv/app/internal-ca.crt"
