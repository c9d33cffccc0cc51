"""The app's settings file: every mistake is refused with the setting's name."""

import pytest
import yaml

from app.common.settings import SettingsError, load_settings

VALID = {
    "node": "app-1",
    "postgres": {
        "primary": {"host": "127.1.0.52", "port": 5000},
        "replicas": {"host": "127.1.0.52", "port": 5001},
        "user": "app",
        "password": "secret",
        "tls": {"root_cert": "/etc/roadie-app/ca.crt"},
    },
    "shards": {"msk": {"number": 1, "database": "tickets_msk"}, "spb": {"number": 2, "database": "tickets_spb"}},
    "cities": [{"id": 1, "name": "Moscow", "shard": "msk"}, {"id": 3, "name": "Saint Petersburg", "shard": "spb"}],
    "redis": {
        "sentinels": [{"host": "127.1.1.21", "port": 26379}],
        "master_name": "roadie",
        "sentinel_password": "s",
        "user": "app",
        "password": "r",
        "tls": {"root_cert": "/etc/roadie-app/ca.crt"},
    },
    "rabbitmq": {
        "host": "127.1.1.41",
        "vhost": "roadie",
        "user": "app",
        "password": "m",
        "tls": {"root_cert": "/etc/roadie-app/ca.crt"},
    },
    "auth": {"operator_token": "o" * 32, "customer_issuer": "tests", "customer_issuer_key": "k" * 32},
}


def write(tmp_path, data):
    path = tmp_path / "app.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_valid_settings_load(tmp_path):
    settings = load_settings(write(tmp_path, VALID))
    assert settings.shards["spb"].database == "tickets_spb"
    assert settings.postgres.tls.mode == "verify-full"  # TLS verified unless turned off by name
    assert settings.tracing.otlp_endpoint == ""  # export off unless configured


def test_missing_file_names_the_environment_variable(tmp_path):
    with pytest.raises(SettingsError, match="ROADIE_APP_CONFIG"):
        load_settings(tmp_path / "absent.yml")


def test_city_in_an_unknown_shard_is_refused(tmp_path):
    data = VALID | {"cities": [{"id": 1, "name": "Kazan", "shard": "kzn"}]}
    with pytest.raises(SettingsError, match="unknown shards"):
        load_settings(write(tmp_path, data))


def test_shard_numbers_must_be_unique(tmp_path):
    data = VALID | {
        "shards": {"a": {"number": 1, "database": "a"}, "b": {"number": 1, "database": "b"}},
        "cities": [{"id": 1, "name": "X", "shard": "a"}],
    }
    with pytest.raises(SettingsError, match="own number"):
        load_settings(write(tmp_path, data))


def test_unknown_settings_are_refused(tmp_path):
    with pytest.raises(SettingsError, match="typo"):
        load_settings(write(tmp_path, VALID | {"typo": 1}))


def test_postgres_tls_must_name_its_ca_to_verify(tmp_path):
    data = {**VALID, "postgres": {**VALID["postgres"], "tls": {"mode": "verify-full"}}}
    with pytest.raises(SettingsError, match="root_cert"):
        load_settings(write(tmp_path, data))
    data["postgres"] = {k: v for k, v in VALID["postgres"].items() if k != "tls"}
    with pytest.raises(SettingsError, match=r"postgres\.tls"):
        load_settings(write(tmp_path, data))
