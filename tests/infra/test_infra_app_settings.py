"""The app's settings contract on Kubernetes, end to end: the exact ConfigMap the Pulumi program
renders for a stack (under its mocks), a Secret with test values shaped like
k8s/secret.example.yaml, and the Deployment's own env, mounted and set as a kubelet would, then
read by the app's own loader."""

from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from app.common import env_overlay
from app.common.settings import CONFIG_ENV, ENV_PREFIX, SECRET_SETTINGS, SettingsError, load_settings
from app.common.settings import Settings as AppSettings
from roadie.k8s.appconfig import CA_CERT_KEY
from tests.infra.infra_harness import TEST_INTERNAL_CA_CERTIFICATE, shipped_stack

K8S = Path(__file__).resolve().parents[2] / "k8s"
POD_NAME = "roadie-app-5c7f8d9b6-x2k4p"
# Test values, shaped to trip a careless parser: a leading zero, YAML booleans and nulls.
TEST_SECRET_VALUES = {
    "ROADIE_APP__POSTGRES__PASSWORD": "0123-test-postgres",
    "ROADIE_APP__REDIS__PASSWORD": "yes",
    "ROADIE_APP__REDIS__SENTINEL_PASSWORD": "null",
    "ROADIE_APP__RABBITMQ__PASSWORD": "test: rabbit # not a comment",
    "ROADIE_APP__AUTH__OPERATOR_TOKEN": "0o17-test-operator",
    "ROADIE_APP__AUTH__CUSTOMER_ISSUER_KEY": "~",
}


def secret_with_test_values() -> dict:
    """k8s/secret.example.yaml with test values in place of its placeholders."""
    example = yaml.safe_load((K8S / "secret.example.yaml").read_text())
    assert set(example["stringData"]) == set(TEST_SECRET_VALUES), "the example lists the Secret's keys"
    return {**example, "stringData": dict(TEST_SECRET_VALUES)}


def configmap_data(env: str) -> dict[str, str]:
    (config_map,) = shipped_stack(env).of_type("kubernetes:core/v1:ConfigMap")
    return config_map.inputs["data"]


def rendered(env: str) -> tuple[str, dict, dict]:
    """The stack's ConfigMap text (app.yml), its Deployment's pod spec and its app container."""
    (deployment,) = shipped_stack(env).of_type("kubernetes:apps/v1:Deployment")
    pod = deployment.inputs["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    return configmap_data(env)["app.yml"], pod, container


def pod_environment(container: dict, secret: dict) -> dict[str, str]:
    """The container's environment as the kubelet builds it from the Deployment."""
    environ: dict[str, str] = {}
    for variable in container["env"]:
        if "value" in variable:
            environ[variable["name"]] = variable["value"]
        elif variable["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}:
            environ[variable["name"]] = POD_NAME
        else:
            raise AssertionError(f"the test does not know this env source: {variable}")
    for source in container["envFrom"]:
        assert source == {"secretRef": {"name": secret["metadata"]["name"]}}, source
        environ.update(secret["stringData"])
    return environ


def mount_config(tmp_path: Path, pod: dict, container: dict, text: str, others: dict[str, str] | None = None) -> Path:
    """The ConfigMap's app.yml (and `others` of its keys) where the Deployment mounts it (under
    tmp_path), one file per key as the kubelet does; the path of app.yml."""
    (volume,) = [v for v in pod["volumes"] if "configMap" in v]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
    directory = tmp_path / mount["mountPath"].lstrip("/")
    directory.mkdir(parents=True)
    for key, value in {**(others or {}), "app.yml": text}.items():
        (directory / key).write_text(value)
    return directory / "app.yml"


def required_paths(model: type[BaseModel] = AppSettings, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every setting the app cannot start without (those with no default), as paths; a required
    section whose own settings all have defaults (postgres.tls) is one itself."""
    paths = []
    for name, field in model.model_fields.items():
        if not field.is_required():
            continue
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            paths += required_paths(field.annotation, (*prefix, name)) or [(*prefix, name)]
        else:
            paths.append((*prefix, name))
    return paths


def lookup(data: dict, path: tuple[str, ...]) -> bool:
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return False
        data = data[part]
    return True


def remove(data: dict, path: tuple[str, ...]) -> None:
    for part in path[:-1]:
        data = data[part]
    del data[path[-1]]


@pytest.mark.parametrize("env", ["prod", "dr"])
def test_the_stacks_configmap_and_a_secret_start_the_app(env, tmp_path):
    text, pod, container = rendered(env)
    environ = pod_environment(container, secret_with_test_values())
    mounted = mount_config(tmp_path, pod, container, text, configmap_data(env))
    # The variable the image reads names the file the volume puts there.
    assert Path(environ[CONFIG_ENV]) == Path("/") / mounted.relative_to(tmp_path)

    settings = load_settings(mounted, environ=environ)

    assert settings.node == POD_NAME
    assert settings.postgres.password == "0123-test-postgres"
    assert settings.redis.password == "yes"
    assert settings.redis.sentinel_password == "null"
    assert settings.rabbitmq.password == "test: rabbit # not a comment"
    assert settings.postgres.primary.host == shipped_stack(env).outputs["pg_endpoint"]
    assert {s.host for s in settings.redis.sentinels} == {
        h["address"] for h in shipped_stack(env).outputs["hosts"] if any(r.startswith("sentinel") for r in h["roles"])
    }
    assert set(settings.shards) == {"msk", "spb"}
    # libpq reads the CA from the file the volume put beside app.yml: the stack's CA.
    assert settings.postgres.tls.mode == "verify-full"
    assert settings.postgres.tls.root_cert == Path("/") / mounted.with_name(CA_CERT_KEY).relative_to(tmp_path)
    assert mounted.with_name(CA_CERT_KEY).read_text() == TEST_INTERNAL_CA_CERTIFICATE


@pytest.mark.parametrize("env", ["prod", "dr"])
def test_every_required_setting_has_exactly_one_source(env):
    text, _, container = rendered(env)
    configmap = yaml.safe_load(text)
    secret_keys = set(secret_with_test_values()["stringData"])
    pod_env = {variable["name"] for variable in container["env"]}
    for path in required_paths():
        variable = env_overlay.env_name(ENV_PREFIX, path)
        sources = [
            name
            for name, given in (
                ("configmap", lookup(configmap, path)),
                ("secret", variable in secret_keys),
                ("deployment env", variable in pod_env),
            )
            if given
        ]
        assert len(sources) == 1, f"{'.'.join(path)} comes from {sources or 'nowhere'}"
        if path in SECRET_SETTINGS:
            assert sources == ["secret"], f"{'.'.join(path)} is a secret: the Secret must give it"


@pytest.mark.parametrize("path", required_paths(), ids=".".join)
def test_a_required_setting_missing_from_both_fails_naming_it(path, tmp_path):
    text, pod, container = rendered("prod")
    configmap = yaml.safe_load(text)
    environ = pod_environment(container, secret_with_test_values())
    variable = env_overlay.env_name(ENV_PREFIX, path)
    if lookup(configmap, path):
        remove(configmap, path)
    environ.pop(variable, None)
    mounted = mount_config(tmp_path, pod, container, yaml.safe_dump(configmap))

    with pytest.raises(SettingsError) as caught:
        load_settings(mounted, environ=environ)
    assert f"{'.'.join(path)}: missing: set it in {mounted} or as ${variable}" in str(caught.value)
