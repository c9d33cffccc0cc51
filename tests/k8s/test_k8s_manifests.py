"""k8s/: strict schema validation for every Kubernetes version EKS offers, and the app's
promises (HPA 3 -> 50, zone spread, probes on the app's endpoints, PDB, resources)."""

from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from roadie_infra.config import EKS_KUBERNETES_VERSIONS
from roadie_infra.kubernetes_app import EXAMPLE_SUFFIX, NAMESPACE_FILE, applied_manifests
from roadie_infra.load_balancer import HEALTH_CHECK_PATH
from roadie_infra.security import APP_NODE_PORT

from app.common.settings import CONFIG_ENV
from roadie.k8s.appconfig import APP_YML_KEY, CA_CERT_KEY, CONFIG_DIR, NODE_VARIABLE
from roadie.k8s.image import LISTEN_ADDRESS_ENV

K8S = Path(__file__).resolve().parents[2] / "k8s"
MANIFEST_FILES = sorted(K8S.glob("*.yaml"))
APP_PORT = 8000


def documents(files=MANIFEST_FILES):
    return [(path.name, doc) for path in files for doc in yaml.safe_load_all(path.read_text()) if doc]


def by_kind():
    """The manifests the program applies (the namespace too), by kind: examples left out."""
    applied = [K8S / NAMESPACE_FILE, *applied_manifests(K8S)]
    return {doc["kind"]: doc for _, doc in documents(applied)}


def test_manifests_exist():
    assert set(by_kind()) == {
        "Namespace",
        "ConfigMap",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
    }
    # The Secret is documented by an example that is never applied (its keys, placeholder values).
    examples = [path for path in MANIFEST_FILES if path.name.endswith(EXAMPLE_SUFFIX)]
    assert [(name, doc["kind"]) for name, doc in documents(examples)] == [("secret.example.yaml", "Secret")]


@pytest.mark.parametrize("version", EKS_KUBERNETES_VERSIONS)
def test_strict_schema_validation(version):
    for name, doc in documents():
        # strict rejects unknown fields; an unknown apiVersion/kind raises SchemaNotFoundError,
        # which is not caught here, so it fails the test as an error.
        kubernetes_validate.validate(doc, f"{version}.0", strict=True)
        assert doc["metadata"].get("namespace", "roadie") == "roadie", name


def test_strict_validation_rejects_a_typo_and_an_unknown_api():
    deployment = by_kind()["Deployment"]
    typo = {**deployment, "spec": {**deployment["spec"], "replica": 3}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(typo, "1.33.0", strict=True)
    removed = {**by_kind()["PodDisruptionBudget"], "apiVersion": "policy/v1beta1"}
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        kubernetes_validate.validate(removed, "1.33.0", strict=True)


def app_container():
    (container,) = by_kind()["Deployment"]["spec"]["template"]["spec"]["containers"]
    return container


def test_probes_match_the_app_endpoints():
    container = app_container()
    assert container["ports"] == [{"name": "http", "containerPort": APP_PORT, "protocol": "TCP"}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    # The ALB checks the same endpoint as readiness, so both agree on who takes traffic.
    assert container["readinessProbe"]["httpGet"]["path"] == HEALTH_CHECK_PATH


def test_requests_and_limits_are_set():
    resources = app_container()["resources"]
    assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}


def test_config_comes_from_configmap_and_secret():
    container = app_container()
    pod = by_kind()["Deployment"]["spec"]["template"]["spec"]
    env = {variable["name"]: variable for variable in container["env"]}
    # The settings file is the ConfigMap's app.yml, mounted read-only where the app is told to look.
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "config"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "config"]
    assert volume["configMap"]["name"] == by_kind()["ConfigMap"]["metadata"]["name"] == "roadie-app"
    assert mount == {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True}
    assert env[CONFIG_ENV]["value"] == f"{CONFIG_DIR}/{APP_YML_KEY}"
    assert APP_YML_KEY in by_kind()["ConfigMap"]["data"]
    # Every key is a file of the mount (no `items`): app.yml's CA among them, where it names it.
    assert "items" not in volume["configMap"]
    assert CA_CERT_KEY in by_kind()["ConfigMap"]["data"]
    app_yml = yaml.safe_load(by_kind()["ConfigMap"]["data"][APP_YML_KEY])
    assert app_yml["postgres"]["tls"]["root_cert"] == f"{mount['mountPath']}/{CA_CERT_KEY}"
    # Each pod is named after itself; the passwords come from the Secret, as variables.
    assert env[NODE_VARIABLE]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert container["envFrom"] == [{"secretRef": {"name": "roadie-app"}}]
    # The pod listens on all of its own addresses (the lab's pod run overrides it).
    assert env[LISTEN_ADDRESS_ENV]["value"] == "0.0.0.0"


def test_the_committed_configmap_holds_no_ca():
    # The CA is the environment's, filled at deploy time (the stack's config, the lab's CA).
    assert by_kind()["ConfigMap"]["data"][CA_CERT_KEY] == ""


def test_only_tmp_and_the_settings_are_mounted_under_a_read_only_root():
    container = app_container()
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"]: m.get("readOnly", False) for m in container["volumeMounts"]}
    assert mounts == {"/tmp": False, CONFIG_DIR: True}


def test_pods_spread_over_zones():
    deployment = by_kind()["Deployment"]
    constraints = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
    zone = [c for c in constraints if c["topologyKey"] == "topology.kubernetes.io/zone"]
    assert zone and zone[0]["whenUnsatisfiable"] == "DoNotSchedule" and zone[0]["maxSkew"] == 1
    assert zone[0]["labelSelector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]


def test_hpa_scales_the_deployment_from_3_to_50():
    hpa, deployment = by_kind()["HorizontalPodAutoscaler"], by_kind()["Deployment"]
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 50)
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": deployment["metadata"]["name"],
    }
    assert deployment["spec"]["replicas"] == hpa["spec"]["minReplicas"]


def test_pdb_and_service_select_the_app_pods():
    kinds = by_kind()
    labels = kinds["Deployment"]["spec"]["template"]["metadata"]["labels"]
    for kind in ("PodDisruptionBudget", "Service"):
        selector = kinds[kind]["spec"]["selector"]
        selector = selector.get("matchLabels", selector)
        assert selector.items() <= labels.items(), kind
    assert kinds["PodDisruptionBudget"]["spec"]["maxUnavailable"] == 1


def test_service_node_port_is_the_load_balancer_target():
    (port,) = by_kind()["Service"]["spec"]["ports"]
    assert port["nodePort"] == APP_NODE_PORT
    assert port["targetPort"] == "http"
