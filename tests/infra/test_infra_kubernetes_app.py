"""The app on Kubernetes as the program applies it: manifests from k8s/ with stack values."""

import pytest

from tests.infra.infra_harness import shipped_stack, stack_config

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


def test_configmap_points_the_app_at_the_stack_services():
    stack = shipped_stack("prod")
    (config_map,) = stack.of_type("kubernetes:core/v1:ConfigMap")
    data = config_map.inputs["data"]
    assert data["ROADIE_ENVIRONMENT"] == "prod"
    assert data["ROADIE_PG_HOST"] == stack.outputs["pg_endpoint"]
    assert data["ROADIE_PG_RW_PORT"] == "5000"  # kept from the manifest
    sentinels = [h["address"] + ":26379" for h in stack.outputs["hosts"] if "sentinel" in h["roles"]]
    assert data["ROADIE_REDIS_SENTINELS"].split(",") == sentinels
    assert data["ROADIE_OTLP_ENDPOINT"] == "http://10.10.21.61:4317"
