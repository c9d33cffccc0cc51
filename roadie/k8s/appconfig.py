"""The ConfigMap's `app.yml`: the app's settings without secrets, rendered from a stack's endpoints.

`k8s/configmap.yaml` holds the template: every setting but the secrets and the node's name, with
the lab's endpoints as examples. `render_app_yml` replaces the endpoints with a stack's and
checks the result with the app's own loader (placeholder secrets and node name standing in for
the Secret and the downward API), so a stack whose ConfigMap would not start the app fails when
it is rendered (`pulumi preview`), not in a crash-looping pod. The Pulumi program renders it with
the stack's addresses (infra/roadie_infra/kubernetes_app.py); the lab's pod run with the lab's
(`roadie.k8s.podplay`). Both also fill the ConfigMap's `internal-ca.crt` (CA_CERT_KEY), the CA
that app.yml's tls.root_cert of postgres, redis and rabbitmq name: the stack's
`roadie:internalCaCertificate`, the lab's CA.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from app.common import env_overlay
from app.common.settings import ENV_PREFIX, SECRET_SETTINGS, SettingsError, secret_variables, settings_from
from roadie.paths import project_root

CONFIGMAP_FILE = "configmap.yaml"
APP_YML_KEY = "app.yml"
# Where the Deployment mounts the ConfigMap (k8s/deployment.yaml; tests/k8s checks they agree).
CONFIG_DIR = "/etc/roadie-app"
# The ConfigMap's key for the internal CA's certificate, filled at deploy time (the template's is
# empty), and the file the template's tls.root_cert (postgres, redis, rabbitmq) names, where
# the mount puts it.
CA_CERT_KEY = "internal-ca.crt"
CA_CERT_PATH = f"{CONFIG_DIR}/{CA_CERT_KEY}"
NODE_VARIABLE = env_overlay.env_name(ENV_PREFIX, ("node",))
HEADER = (
    "# The roadie app's settings without secrets (schema: app/common/settings.py), rendered from\n"
    "# the template in k8s/configmap.yaml with this stack's endpoints. The node's name and the\n"
    "# passwords come from the environment (ROADIE_APP__NODE, the Secret roadie-app).\n"
)


class AppConfigError(ValueError):
    """The rendered settings would not start the app; the message names the setting."""


@dataclass(frozen=True)
class AppEndpoints:
    """What a stack (or the lab) provides the app: where each service answers."""

    postgres_host: str
    postgres_primary_port: int
    postgres_replica_port: int
    sentinels: tuple[tuple[str, int], ...]
    rabbitmq_host: str
    rabbitmq_port: int
    otlp_endpoint: str = ""
    """OTLP/HTTP traces endpoint; empty: traces are not exported."""


def manifests_dir() -> Path:
    return project_root() / "k8s"


def configmap_manifest(directory: Path | None = None) -> dict[str, Any]:
    """k8s/configmap.yaml as a mapping."""
    path = (directory or manifests_dir()) / CONFIGMAP_FILE
    manifest = yaml.safe_load(path.read_text())
    if not isinstance(manifest, dict) or APP_YML_KEY not in (manifest.get("data") or {}):
        raise AppConfigError(f"{path}: a ConfigMap with data.{APP_YML_KEY} (the app's settings template) expected")
    return manifest


def template(directory: Path | None = None) -> str:
    """The `app.yml` template of k8s/configmap.yaml."""
    return str(configmap_manifest(directory)["data"][APP_YML_KEY])


def render_app_yml(template_text: str, endpoints: AppEndpoints) -> str:
    """The template with `endpoints` put in, checked by the app's loader."""
    data = yaml.safe_load(template_text)
    if not isinstance(data, dict):
        raise AppConfigError(f"the {APP_YML_KEY} template must be a mapping of settings")
    data = {**data}
    # The rest of postgres stays the template's: user, pools and tls, whose root_cert is the
    # ConfigMap's CA (CA_CERT_PATH) wherever the pod runs.
    data["postgres"] = {
        **data.get("postgres", {}),
        "primary": {"host": endpoints.postgres_host, "port": endpoints.postgres_primary_port},
        "replicas": {"host": endpoints.postgres_host, "port": endpoints.postgres_replica_port},
    }
    data["redis"] = {
        **data.get("redis", {}),
        "sentinels": [{"host": host, "port": port} for host, port in endpoints.sentinels],
    }
    data["rabbitmq"] = {**data.get("rabbitmq", {}), "host": endpoints.rabbitmq_host, "port": endpoints.rabbitmq_port}
    data["tracing"] = {**data.get("tracing", {}), "otlp_endpoint": endpoints.otlp_endpoint}
    text = HEADER + yaml.safe_dump(data, sort_keys=False, default_flow_style=None)
    check_app_yml(text)
    return text


def check_app_yml(text: str) -> None:
    """Refuse settings a ConfigMap must not hold (secrets, the node's name) or that would not
    start the app once the Secret and the pod's name are added."""
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise AppConfigError(f"{APP_YML_KEY} must be a mapping of settings")
    held = [".".join(path) for path in SECRET_SETTINGS if _has(data, path)]
    if held:
        raise AppConfigError(f"{APP_YML_KEY} holds secrets {held}: they belong in the Secret roadie-app")
    if "node" in data:
        raise AppConfigError(f"{APP_YML_KEY} sets node: every pod is named after itself ({NODE_VARIABLE})")
    try:
        settings_from(data, placeholder_environment(), APP_YML_KEY)
    except SettingsError as exc:
        raise AppConfigError(str(exc)) from None


def placeholder_environment() -> dict[str, str]:
    """What the pod's environment adds to the ConfigMap: a node name and the Secret's keys."""
    return {NODE_VARIABLE: "roadie-app-placeholder", **dict.fromkeys(secret_variables(), "placeholder")}


def _has(data: Mapping[str, Any], path: tuple[str, ...]) -> bool:
    node: Any = data
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True
