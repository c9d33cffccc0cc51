"""The app's settings from a file with ROADIE_APP__* variables over it (the Kubernetes contract):
precedence, types, refused names and values, and missing secrets named with their variable."""

import copy

import pytest
import yaml

from app.common.settings import (
    CONFIG_ENV,
    EXAMPLE_SECRET_MARKER,
    SECRET_SETTINGS,
    SettingsError,
    load_settings,
    secret_variables,
)
from tests.unit.tickets.test_tickets_settings import VALID

SECRETS = {
    "ROADIE_APP__POSTGRES__PASSWORD": "pg-from-env",
    "ROADIE_APP__REDIS__PASSWORD": "redis-from-env",
    "ROADIE_APP__REDIS__SENTINEL_PASSWORD": "sentinel-from-env",
    "ROADIE_APP__RABBITMQ__PASSWORD": "mq-from-env",
    "ROADIE_APP__AUTH__OPERATOR_TOKEN": "operator-from-env",
    "ROADIE_APP__AUTH__CUSTOMER_ISSUER_KEY": "issuer-key-from-env",
}


def without_secrets(data: dict) -> dict:
    """The settings as a ConfigMap holds them: no passwords (and no node: the pod's name)."""
    stripped = copy.deepcopy(data)
    for section, key in SECRET_SETTINGS:
        del stripped[section][key]
    del stripped["node"]
    return stripped


def write(tmp_path, data):
    path = tmp_path / "app.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def load(tmp_path, data, env):
    return load_settings(write(tmp_path, data), environ=env)


def error_of(tmp_path, data, env) -> str:
    with pytest.raises(SettingsError) as caught:
        load(tmp_path, data, env)
    return str(caught.value)


def test_the_lab_file_alone_still_loads_with_no_variables(tmp_path):
    settings = load(tmp_path, VALID, {})
    assert settings.postgres.password == "secret"
    assert settings.node == "app-1"


def test_the_secret_and_the_pod_name_fill_what_the_configmap_leaves_out(tmp_path):
    settings = load(tmp_path, without_secrets(VALID), {**SECRETS, "ROADIE_APP__NODE": "roadie-app-7c9d-x2k4p"})
    assert settings.node == "roadie-app-7c9d-x2k4p"
    assert settings.postgres.password == "pg-from-env"
    assert settings.redis.password == "redis-from-env"
    assert settings.redis.sentinel_password == "sentinel-from-env"
    assert settings.rabbitmq.password == "mq-from-env"
    assert settings.postgres.user == "app"  # the file's, untouched


def test_the_config_path_comes_from_the_given_environment(tmp_path):
    path = write(tmp_path, without_secrets(VALID))
    settings = load_settings(environ={CONFIG_ENV: str(path), "ROADIE_APP__NODE": "n", **SECRETS})
    assert settings.node == "n"


def test_a_variable_wins_over_the_file_and_a_more_specific_one_over_a_broader_one(tmp_path):
    env = {
        "ROADIE_APP__POSTGRES__PASSWORD": "env-wins",
        "ROADIE_APP__POSTGRES__PRIMARY": "{host: 10.0.0.9, port: 5432}",
        "ROADIE_APP__POSTGRES__PRIMARY__PORT": "6000",
        "ROADIE_APP__SHARDS__MSK__DATABASE": "tickets_moscow",
    }
    settings = load(tmp_path, VALID, env)
    assert settings.postgres.password == "env-wins"
    assert (settings.postgres.primary.host, settings.postgres.primary.port) == ("10.0.0.9", 6000)
    assert settings.postgres.replicas.port == 5001  # the file's
    assert settings.shards["msk"].database == "tickets_moscow"
    assert settings.shards["msk"].number == 1  # the file's, beside the variable's


def test_values_take_the_type_of_their_setting(tmp_path):
    env = {
        "ROADIE_APP__POSTGRES__PRIMARY__PORT": "6000",
        "ROADIE_APP__TRACING__SAMPLE_RATIO": "0.25",
        "ROADIE_APP__REDIS__SENTINELS": "[{host: 10.0.1.21, port: 26379}, {host: 10.0.2.21, port: 26379}]",
        # Strings stay verbatim, however YAML would read them.
        "ROADIE_APP__POSTGRES__PASSWORD": "0123",
        "ROADIE_APP__REDIS__PASSWORD": "yes",
        "ROADIE_APP__REDIS__SENTINEL_PASSWORD": "null",
        "ROADIE_APP__RABBITMQ__PASSWORD": "[not: a list] # nor a comment",
        "ROADIE_APP__NODE": "12",
    }
    settings = load(tmp_path, VALID, env)
    assert settings.postgres.primary.port == 6000
    assert settings.tracing.sample_ratio == 0.25
    assert [(s.host, s.port) for s in settings.redis.sentinels] == [("10.0.1.21", 26379), ("10.0.2.21", 26379)]
    assert settings.postgres.password == "0123"
    assert settings.redis.password == "yes"
    assert settings.redis.sentinel_password == "null"
    assert settings.rabbitmq.password == "[not: a list] # nor a comment"
    assert settings.node == "12"


def test_other_roadie_variables_are_not_settings(tmp_path):
    env = {"ROADIE_APP_LISTEN_ADDRESS": "0.0.0.0", CONFIG_ENV: "/elsewhere", "ROADIE_APPS__X": "1"}
    assert load(tmp_path, VALID, env).node == "app-1"


@pytest.mark.parametrize(
    ("variable", "message"),
    [
        (
            "ROADIE_APP__POSTGRES__PASWORD",
            "$ROADIE_APP__POSTGRES__PASWORD: unknown setting postgres.pasword "
            "(postgres has: connect_timeout, password,",
        ),
        ("ROADIE_APP__TYPO", "unknown setting typo (the top level has: auth, cities,"),
        ("ROADIE_APP__POSTGRES____PASSWORD", "empty part in the name"),
        ("ROADIE_APP__NODE__NAME", "node (str) has no setting name: it is set whole, as $ROADIE_APP__NODE"),
        ("ROADIE_APP__CITIES__0", "cities (list[City]) has no setting 0: it is set whole, as $ROADIE_APP__CITIES"),
    ],
)
def test_a_variable_that_names_no_setting_is_refused(tmp_path, variable, message):
    assert message in error_of(tmp_path, VALID, {variable: "x"})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ROADIE_APP__POSTGRES__PRIMARY__PORT": "abc"}, "postgres.primary.port: Input should be a valid integer"),
        ({"ROADIE_APP__POSTGRES__PRIMARY__PORT": "70000"}, "postgres.primary.port: Input should be less than 65536"),
        ({"ROADIE_APP__REDIS__PASSWORD": ""}, "redis.password: String should have at least 1 character"),
    ],
)
def test_a_bad_value_names_the_setting_and_its_variable(tmp_path, env, message):
    error = error_of(tmp_path, VALID, env)
    assert message in error
    assert f"(from ${next(iter(env))})" in error


def test_a_value_that_is_not_yaml_is_refused_naming_the_variable(tmp_path):
    error = error_of(tmp_path, VALID, {"ROADIE_APP__REDIS__SENTINELS": "[{host: a"})
    assert "$ROADIE_APP__REDIS__SENTINELS: not a YAML value" in error


def test_a_missing_secret_is_named_with_the_variable_that_sets_it(tmp_path):
    env = {**SECRETS, "ROADIE_APP__NODE": "pod-1"}
    del env["ROADIE_APP__RABBITMQ__PASSWORD"]
    error = error_of(tmp_path, without_secrets(VALID), env)
    assert "rabbitmq.password: missing: set it in" in error
    assert "or as $ROADIE_APP__RABBITMQ__PASSWORD" in error
    assert "postgres.password" not in error  # only what is missing


def test_the_example_secrets_placeholder_is_refused(tmp_path):
    env = {**SECRETS, "ROADIE_APP__POSTGRES__PASSWORD": f"{EXAMPLE_SECRET_MARKER}-set-from-vault"}
    error = error_of(tmp_path, VALID, env)
    assert "postgres.password: Value error, is the placeholder of k8s/secret.example.yaml" in error


def test_the_secret_variables_are_the_passwords_and_tokens():
    assert secret_variables() == tuple(SECRETS)
