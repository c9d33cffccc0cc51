"""The ConfigMap's app.yml template, the Secret's example and the renderer that fills the
template: the same catalogue and tuning as the lab's hosts, no secrets, clear refusals."""

import dataclasses
from pathlib import Path

import pytest
import yaml

from app.common.settings import EXAMPLE_SECRET_MARKER, SettingsError, load_settings, secret_variables
from roadie.inventory import ports
from roadie.k8s.appconfig import (
    CA_CERT_PATH,
    AppConfigError,
    AppEndpoints,
    check_app_yml,
    placeholder_environment,
    render_app_yml,
    template,
)

ROOT = Path(__file__).resolve().parents[2]
# The role's defaults, with the ports it reads from the port table as numbers.
ROLE_DEFAULTS = {
    name: ports.resolve(value)
    for name, value in yaml.safe_load((ROOT / "ansible/roles/app/defaults/main.yml").read_text()).items()
}
ENDPOINTS = AppEndpoints(
    postgres_host="pg.internal",
    postgres_primary_port=5000,
    postgres_replica_port=5001,
    sentinels=(("10.0.1.21", 26379), ("10.0.2.21", 26379)),
    rabbitmq_host="10.0.1.41",
    rabbitmq_port=ports.port("rabbitmq", "amqp"),
    otlp_endpoint="http://10.0.1.61:4318/v1/traces",
)


def template_data() -> dict:
    return yaml.safe_load(template())


def test_the_template_serves_the_same_catalogue_as_the_hosts():
    # Shard numbers are encoded into ids: a pod and a host must never disagree about them.
    data = template_data()
    defaults = ROLE_DEFAULTS
    assert data["shards"] == defaults["app_shards"]
    assert data["cities"] == defaults["app_cities"]
    assert data["postgres"]["user"] == defaults["app_postgres_user"]
    assert data["postgres"]["primary"]["port"] == defaults["app_postgres_primary_port"]
    assert data["postgres"]["replicas"]["port"] == defaults["app_postgres_replica_port"]
    assert data["postgres"]["primary_pool_max"] == defaults["app_postgres_primary_pool_max"]
    assert data["postgres"]["replica_pool_max"] == defaults["app_postgres_replica_pool_max"]
    assert data["redis"]["master_name"] == defaults["app_redis_master_name"]
    assert data["redis"]["user"] == defaults["app_redis_user"]
    assert {s["port"] for s in data["redis"]["sentinels"]} == {defaults["app_sentinel_port"]}
    rabbitmq = data["rabbitmq"]
    assert (rabbitmq["port"], rabbitmq["vhost"], rabbitmq["user"]) == (
        defaults["app_rabbitmq_port"],
        defaults["app_rabbitmq_vhost"],
        defaults["app_rabbitmq_user"],
    )
    assert data["tickets"] == {
        "hold_minutes_default": defaults["app_hold_minutes"],
        "cache_ttl_seconds": defaults["app_cache_ttl_seconds"],
        "listing_cache_ttl_seconds": defaults["app_listing_cache_ttl_seconds"],
        "booking_retry_deadline_seconds": defaults["app_booking_retry_deadline_seconds"],
    }
    assert data["log_level"] == defaults["app_log_level"]


def test_the_template_holds_no_secret_and_starts_the_app_with_a_secret_and_a_pod_name(tmp_path):
    check_app_yml(template())
    path = tmp_path / "app.yml"
    path.write_text(template())
    settings = load_settings(path, environ=placeholder_environment())
    assert settings.node == "roadie-app-placeholder"
    # As on the hosts (role `app`): PostgreSQL verified by name against the internal CA.
    assert (settings.postgres.tls.mode, str(settings.postgres.tls.root_cert)) == ("verify-full", CA_CERT_PATH)
    # And the Sentinels and the Redis master, over TLS only, against the same CA.
    assert (settings.redis.tls.enabled, str(settings.redis.tls.root_cert)) == (True, CA_CERT_PATH)
    # And RabbitMQ, over AMQPS only, against the same CA.
    assert (settings.rabbitmq.tls.enabled, str(settings.rabbitmq.tls.root_cert)) == (True, CA_CERT_PATH)


def test_rendering_puts_the_stacks_endpoints_in_and_keeps_the_rest():
    data = yaml.safe_load(render_app_yml(template(), ENDPOINTS))
    assert data["postgres"]["primary"] == {"host": "pg.internal", "port": 5000}
    assert data["postgres"]["replicas"] == {"host": "pg.internal", "port": 5001}
    assert data["redis"]["sentinels"] == [{"host": "10.0.1.21", "port": 26379}, {"host": "10.0.2.21", "port": 26379}]
    assert (data["rabbitmq"]["host"], data["rabbitmq"]["vhost"]) == ("10.0.1.41", "roadie")
    assert data["tracing"]["otlp_endpoint"] == "http://10.0.1.61:4318/v1/traces"
    assert data["shards"] == template_data()["shards"]
    assert data["postgres"]["tls"] == template_data()["postgres"]["tls"] == {"root_cert": CA_CERT_PATH}
    assert data["redis"]["tls"] == template_data()["redis"]["tls"] == {"enabled": True, "root_cert": CA_CERT_PATH}
    rabbitmq_tls = {"enabled": True, "root_cert": CA_CERT_PATH}
    assert data["rabbitmq"]["tls"] == template_data()["rabbitmq"]["tls"] == rabbitmq_tls
    assert data["rabbitmq"]["port"] == ENDPOINTS.rabbitmq_port  # AMQPS, from the port table


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sentinels": ()}, "redis.sentinels: List should have at least 1 item"),
        ({"rabbitmq_host": ""}, "rabbitmq.host: String should have at least 1 character"),
        ({"postgres_primary_port": 0}, "postgres.primary.port: Input should be greater than 0"),
    ],
)
def test_a_stack_whose_configmap_would_not_start_the_app_fails_to_render(change, message):
    with pytest.raises(AppConfigError, match=message):
        render_app_yml(template(), dataclasses.replace(ENDPOINTS, **change))


@pytest.mark.parametrize("section", ["redis", "rabbitmq"])
def test_a_template_that_would_reach_redis_or_rabbitmq_in_plain_text_is_refused(section):
    data = template_data()
    data[section] = {key: value for key, value in data[section].items() if key != "tls"}
    with pytest.raises(AppConfigError, match=rf"{section}\.tls: missing"):
        render_app_yml(yaml.safe_dump(data), ENDPOINTS)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"postgres": {"password": "x"}}, r"holds secrets \['postgres.password'\]"),
        ({"redis": {"sentinel_password": "x"}}, r"holds secrets \['redis.sentinel_password'\]"),
        ({"node": "app-1"}, "sets node: every pod is named after itself"),
    ],
)
def test_a_template_with_a_secret_or_a_node_name_is_refused(change, message):
    data = template_data()
    for section, values in change.items():
        data[section] = {**data[section], **values} if isinstance(values, dict) else values
    with pytest.raises(AppConfigError, match=message):
        render_app_yml(yaml.safe_dump(data), ENDPOINTS)


def test_the_secret_example_lists_the_four_variables_with_placeholders_the_app_refuses(tmp_path):
    example = yaml.safe_load((ROOT / "k8s/secret.example.yaml").read_text())
    assert (example["kind"], example["metadata"]["name"]) == ("Secret", "roadie-app")
    assert tuple(example["stringData"]) == secret_variables()
    assert all(value.startswith(EXAMPLE_SECRET_MARKER) for value in example["stringData"].values())
    path = tmp_path / "app.yml"
    path.write_text(template())
    with pytest.raises(SettingsError, match=r"placeholder of k8s/secret\.example\.yaml"):
        load_settings(path, environ={**placeholder_environment(), **example["stringData"]})
