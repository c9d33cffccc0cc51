"""The app on Kubernetes: the manifests in `k8s/`, applied with pulumi-kubernetes.

The manifests stay plain YAML (validated on their own by tests/k8s); the program only sets
what differs per stack: the image (`roadie:appImage`) and the endpoint values in the ConfigMap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

MANIFESTS_DIR = Path(__file__).resolve().parents[2] / "k8s"
NAMESPACE_FILE = "namespace.yaml"
APP_NAME = "roadie-app"
APP_CONTAINER = "app"


@dataclass(frozen=True)
class KubernetesAppArgs:
    provider: k8s.Provider
    image: str
    config: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """ConfigMap `roadie-app` entries set from the stack (endpoints, environment)."""
    manifests_dir: Path = MANIFESTS_DIR


class KubernetesApp(pulumi.ComponentResource):
    """Namespace first, then every other manifest of `k8s/` with the stack's values applied."""

    namespace: k8s.yaml.ConfigFile
    manifests: k8s.yaml.ConfigGroup

    def __init__(self, name: str, args: KubernetesAppArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("roadie:kubernetes:KubernetesApp", name, None, opts)
        provider_opts = pulumi.ResourceOptions(parent=self, provider=args.provider)
        self.namespace = k8s.yaml.ConfigFile(
            f"{name}-namespace", file=str(args.manifests_dir / NAMESPACE_FILE), opts=provider_opts
        )
        files = sorted(str(path) for path in args.manifests_dir.glob("*.yaml") if path.name != NAMESPACE_FILE)
        self.manifests = k8s.yaml.ConfigGroup(
            f"{name}-manifests",
            files=files,
            transformations=[self._stack_values(args)],
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[self.namespace]),
        )
        self.register_outputs({"image": args.image})

    def _stack_values(self, args: KubernetesAppArgs) -> Any:
        namespace = self.namespace

        def transform(obj: dict[str, Any], opts: pulumi.ResourceOptions) -> None:
            # Namespaced objects wait for the namespace (ConfigGroup children get no
            # depends_on of their own).
            opts.depends_on = [namespace]
            name = obj.get("metadata", {}).get("name")
            if obj.get("kind") == "Deployment" and name == APP_NAME:
                for container in obj["spec"]["template"]["spec"]["containers"]:
                    if container["name"] == APP_CONTAINER:
                        container["image"] = args.image
                # The HPA owns the replica count once the Deployment exists.
                opts.ignore_changes = ["spec.replicas"]
            if obj.get("kind") == "ConfigMap" and name == APP_NAME:
                obj["data"] = {**obj.get("data", {}), **args.config}

        return transform
