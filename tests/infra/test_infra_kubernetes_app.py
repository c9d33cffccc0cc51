"""The app on Kubernetes as the program applies it: manifests from k8s/ with stack values."""

import pytest
import yaml
from roadie_infra.config import INTERNAL_CA_KEY
from roadie_infra.kubernetes_app import CONFIG_DIGEST_ANNOTATION, MANIFESTS_DIR, applied_manifests, config_digest
from roadie_infra.security import AMQP_PORT

from roadie.k8s.appconfig import APP_YML_KEY, CA_CERT_KEY, CONFIG_DIR
from tests.infra.infra_harness import (
    TEST_INTERNAL_CA_CERTIFICATE,
    run_stack,
    self_signed_certificate,
    shipped_stack,
    stack_config,
)

ENVIRONMENTS = ("dev", "staging", "prod", "dr")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_manifest_is_applied_through_the_cluster_provider(env):
    stack = shipped_stack(env)
    kinds = {r.type for r in stack.resources if r.type.startswith("kubernetes:") and "yaml" not in r.type}
    assert kinds == {
        "kubernetes:core/v1:Namespace",
        "kubernetes:core/v1:ConfigMap",
        "kubernetes:core/v1:Service",
        "kubernetes:apps/v1:Deployment",
        "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
        "kubernetes:policy/v1:PodDisruptionBudget",
    }
    assert "kubernetes:yaml:decode" in stack.calls


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_image_comes_from_stack_config(env):
    stack = shipped_stack(env)
    (deployment,) = stack.of_type("kubernetes:apps/v1:Deployment")
    (container,) = deployment.inputs["spec"]["template"]["spec"]["containers"]
    assert container["image"] == stack_config(env)["roadie:appImage"]


def configmap_data(stack) -> dict[str, str]:
    (config_map,) = stack.of_type("kubernetes:core/v1:ConfigMap")
    assert set(config_map.inputs["data"]) == {APP_YML_KEY, CA_CERT_KEY}
    return config_map.inputs["data"]


def app_yml(stack) -> dict:
    return yaml.safe_load(configmap_data(stack)[APP_YML_KEY])


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_configmap_carries_the_stacks_ca_where_app_yml_looks_for_it(env):
    stack = shipped_stack(env)
    assert configmap_data(stack)[CA_CERT_KEY] == TEST_INTERNAL_CA_CERTIFICATE
    # The Deployment mounts the whole ConfigMap (no `items`) at CONFIG_DIR: each key is a file there.
    (deployment,) = stack.of_type("kubernetes:apps/v1:Deployment")
    (volume,) = [v for v in deployment.inputs["spec"]["template"]["spec"]["volumes"] if "configMap" in v]
    assert "items" not in volume["configMap"]
    assert app_yml(stack)["postgres"]["tls"] == {"root_cert": f"{CONFIG_DIR}/{CA_CERT_KEY}"}


def test_configmap_points_the_app_at_the_stack_services():
    stack = shipped_stack("prod")
    settings = app_yml(stack)
    hosts = stack.outputs["hosts"]
    assert settings["postgres"]["primary"] == {"host": stack.outputs["pg_endpoint"], "port": 5000}
    assert settings["postgres"]["replicas"] == {"host": stack.outputs["pg_endpoint"], "port": 5001}
    assert settings["redis"]["sentinels"] == [
        {"host": h["address"], "port": 26379} for h in hosts if "sentinel" in h["roles"]
    ]
    first_mq = next(h["address"] for h in hosts if "rabbitmq" in h["roles"])
    # AMQPS, the port of the table (ports.yml) the security group opens.
    assert (settings["rabbitmq"]["host"], settings["rabbitmq"]["port"]) == (first_mq, AMQP_PORT)
    assert settings["rabbitmq"]["tls"] == {"enabled": True, "root_cert": f"{CONFIG_DIR}/{CA_CERT_KEY}"}
    # OTLP over HTTP (the app's exporter) to Jaeger on the first monitoring host.
    assert settings["tracing"]["otlp_endpoint"] == "http://10.10.21.61:4318/v1/traces"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_lab_address_survives_in_a_stacks_configmap(env):
    text = yaml.safe_dump(app_yml(shipped_stack(env)))
    assert "127." not in text


def test_the_dr_configmap_names_only_the_dr_regions_services():
    stack = shipped_stack("dr")
    settings = app_yml(stack)
    assert settings["postgres"]["primary"]["host"] == stack.outputs["pg_endpoint"]
    assert [s["host"] for s in settings["redis"]["sentinels"]] == ["10.11.21.21"]
    assert settings["rabbitmq"]["host"] == "10.11.21.41"
    assert settings["tracing"]["otlp_endpoint"] == ""  # no monitoring tier in dr: export off


def config_annotation(stack) -> str:
    (deployment,) = stack.of_type("kubernetes:apps/v1:Deployment")
    return deployment.inputs["spec"]["template"]["metadata"]["annotations"][CONFIG_DIGEST_ANNOTATION]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_pod_template_carries_the_digest_of_the_configmap_applied(env):
    stack = shipped_stack(env)
    assert config_annotation(stack) == config_digest(configmap_data(stack))


def test_a_changed_ca_rolls_the_pods():
    other_ca = self_signed_certificate("roadie internal CA (tests/infra second test CA)")
    changed = run_stack("dev", {**stack_config("dev"), INTERNAL_CA_KEY: other_ca})
    shipped = shipped_stack("dev")
    assert configmap_data(changed)[CA_CERT_KEY] == other_ca
    assert configmap_data(changed)[APP_YML_KEY] == configmap_data(shipped)[APP_YML_KEY]
    assert config_annotation(changed) != config_annotation(shipped)


def test_the_secret_example_is_never_applied():
    stack = shipped_stack("prod")
    assert not [r for r in stack.resources if r.type == "kubernetes:core/v1:Secret"]
    assert "secret.example.yaml" not in {path.name for path in applied_manifests(MANIFESTS_DIR)}
