"""The app on Kubernetes: the manifests in `k8s/`, applied with pulumi-kubernetes.

The manifests stay plain YAML (validated on their own by tests/k8s); the program only sets
what differs per stack: the image (`roadie:appImage`) and the ConfigMap's data: `app.yml`, rendered
from the template in k8s/configmap.yaml with the stack's endpoints (`roadie.k8s.appconfig`), and
`internal-ca.crt`, the CA the app verifies PostgreSQL against (`roadie:internalCaCertificate`).
`*.example.yaml` files (the Secret's keys) are documentation and are never applied.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from roadie.k8s.appconfig import APP_YML_KEY, CA_CERT_KEY, AppEndpoints, configmap_manifest, render_app_yml

MANIFESTS_DIR = Path(__file__).resolve().parents[2] / "k8s"
NAMESPACE_FILE = "namespace.yaml"
EXAMPLE_SUFFIX = ".example.yaml"
APP_NAME = "roadie-app"
APP_CONTAINER = "app"
# On the pod template: a changed ConfigMap (app.yml or the CA) changes the template, so the
# Deployment rolls its pods (the app reads its settings and the CA once, at start).
CONFIG_DIGEST_ANNOTATION = "roadie/app-config-sha256"


@dataclass(frozen=True)
class KubernetesAppArgs:
    provider: k8s.Provider
    image: str
    endpoints: pulumi.Input[AppEndpoints]
    """The stack's services, rendered into the ConfigMap's `app.yml`."""
    internal_ca_certificate: str
    """PEM, the ConfigMap's `internal-ca.crt`."""
    manifests_dir: Path = MANIFESTS_DIR


def config_digest(data: Mapping[str, str]) -> str:
    """sha256 of a ConfigMap's data: its keys and values as sorted JSON, whose quoting keeps them apart."""
    return hashlib.sha256(json.dumps(dict(data), sort_keys=True).encode()).hexdigest()


def applied_manifests(manifests_dir: Path) -> list[Path]:
    """Every manifest the program applies after the namespace (examples are not applied)."""
    return sorted(
        path
        for path in manifests_dir.glob("*.yaml")
        if path.name != NAMESPACE_FILE and not path.name.endswith(EXAMPLE_SUFFIX)
    )


class KubernetesApp(pulumi.ComponentResource):
    """Namespace first, then every other manifest of `k8s/` with the stack's values applied."""

    namespace: k8s.yaml.ConfigFile
    manifests: k8s.yaml.ConfigGroup
    app_yml: pulumi.Output[str]
    config_data: pulumi.Output[dict[str, str]]

    def __init__(self, name: str, args: KubernetesAppArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("roadie:kubernetes:KubernetesApp", name, None, opts)
        provider_opts = pulumi.ResourceOptions(parent=self, provider=args.provider)
        self.namespace = k8s.yaml.ConfigFile(
            f"{name}-namespace", file=str(args.manifests_dir / NAMESPACE_FILE), opts=provider_opts
        )
        template_data = dict(configmap_manifest(args.manifests_dir)["data"])
        self.app_yml = pulumi.Output.from_input(args.endpoints).apply(
            lambda endpoints: render_app_yml(template_data[APP_YML_KEY], endpoints)
        )
        # One value for the ConfigMap's data and for the pod template's digest: they always agree.
        self.config_data = self.app_yml.apply(
            lambda text: {**template_data, APP_YML_KEY: text, CA_CERT_KEY: args.internal_ca_certificate}
        )
        files = [str(path) for path in applied_manifests(args.manifests_dir)]
        self.manifests = k8s.yaml.ConfigGroup(
            f"{name}-manifests",
            files=files,
            transformations=[self._stack_values(args)],
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[self.namespace]),
        )
        self.register_outputs({"image": args.image, "app_yml": self.app_yml})

    def _stack_values(self, args: KubernetesAppArgs) -> Any:
        namespace = self.namespace
        config_data = self.config_data

        def transform(obj: dict[str, Any], opts: pulumi.ResourceOptions) -> None:
            # Namespaced objects wait for the namespace (ConfigGroup children get no
            # depends_on of their own).
            opts.depends_on = [namespace]
            name = obj.get("metadata", {}).get("name")
            if obj.get("kind") == "Deployment" and name == APP_NAME:
                pod = obj["spec"]["template"]
                for container in pod["spec"]["containers"]:
                    if container["name"] == APP_CONTAINER:
                        container["image"] = args.image
                annotations = pod.setdefault("metadata", {}).setdefault("annotations", {})
                annotations[CONFIG_DIGEST_ANNOTATION] = config_data.apply(config_digest)
                # The HPA owns the replica count once the Deployment exists.
                opts.ignore_changes = ["spec.replicas"]
            if obj.get("kind") == "ConfigMap" and name == APP_NAME:
                obj["data"] = config_data

        return transform
