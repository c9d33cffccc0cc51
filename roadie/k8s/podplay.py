"""The app's Deployment (k8s/deployment.yaml) run as a pod by `podman kube play`, on the host
network, against the lab's data tier.

What is played is generated from the real manifests: the Deployment as written, and the
ConfigMap as the Pulumi program fills it (`roadie.k8s.appconfig.render_app_yml`) but with the
lab's endpoints, read from the lab's service registry, and the lab's internal CA; the Secret
holds the lab's passwords.
Only what podman needs is overridden (`OVERRIDES` says why, one by one).

Not exercised here (they stay schema-validated by tests/k8s and are Kubernetes' to enforce): the
HPA, the PodDisruptionBudget, topology spread, the Service and its NodePort, rolling updates,
the probes (run by the test itself on the readiness path), resource limits' enforcement on this
machine's hybrid cgroups.
"""

from __future__ import annotations

import base64
import copy
import json
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from app.common import env_overlay
from app.common.settings import ENV_PREFIX
from app.search.wiring import SEARCH_CONFIG_NAME, SEARCH_ENV_PREFIX
from roadie.errors import RoadieError
from roadie.inventory import ports
from roadie.k8s.appconfig import (
    APP_YML_KEY,
    CA_CERT_KEY,
    CONFIG_DIR,
    AppEndpoints,
    manifests_dir,
    render_app_yml,
    template,
)
from roadie.k8s.image import LISTEN_ADDRESS_ENV, image_names, podman
from roadie.lab import hosts
from roadie.lab.inventory import Lab
from roadie.lab.secrets import load_secrets
from roadie.paths import shared_group_vars_dir
from roadie.services import registry

# A loopback address of its own on the host network (region 1's regional range, next to the app
# load balancer's .51): no lab host has it, and `check_address_free` makes sure nothing else does.
POD_ADDRESS = "127.1.0.32"
# The app's port in the pod: the hosts' (the Deployment's containerPort is the same, tests/k8s).
APP_PORT = ports.port("app", "http")
DEPLOYMENT_FILE = "deployment.yaml"
APP_NAME = "roadie-app"
APP_CONTAINER = "app"
# podman names the pods of a Deployment <name>-pod-<n> and their containers <pod>-<container>.
POD_NAME = f"{APP_NAME}-pod-0"
CONTAINER_NAME = f"{POD_NAME}-{APP_CONTAINER}"
HOTELS_FILE = "hotels.json"
# The pod shares the host's network, as the lab's hosts do: it reaches the data tier at its
# addresses and listens on an address of its own.
PLAY_OPTIONS = ("--network", "host")
# The Ansible variables of role `app` that hold the Secret's passwords (k8s/secret.example.yaml).
SECRET_ROLE_VARIABLES: dict[tuple[str, ...], str] = {
    ("postgres", "password"): "app_postgres_password",
    ("redis", "password"): "app_redis_password",
    ("redis", "sentinel_password"): "app_sentinel_password",
    ("rabbitmq", "password"): "app_rabbitmq_password",
    ("auth", "operator_token"): "app_operator_token",
    ("auth", "customer_issuer_key"): "app_customer_issuer_key",
}
SEARCH_SECRET_PATHS: tuple[tuple[str, ...], ...] = (
    ("redis", "password"),
    ("redis", "sentinel_password"),
    ("node_token",),
)
OVERRIDES = (
    "image: the locally built image instead of the stack's (`roadie-app:set-by-pulumi` in the manifest)",
    "replicas: 1 (podman plays every replica as a pod; on the host network they would share one port)",
    f"{LISTEN_ADDRESS_ENV}: the pod's own loopback address (host network: never all addresses)",
    "probes: removed (podman turns them into healthchecks run by systemd timers, and this machine "
    "has no systemd; the test requests the readiness probe's path itself)",
    "ports: removed (podman 4.3 publishes every containerPort, which the host network refuses: "
    "'PortMappings can only be used with Bridge or slirp4netns networking'; the app listens on its address)",
    "Secret: created as a podman secret in podman 4.3's format (a JSON map of base64 values): 4.3 stores "
    "a Secret document as YAML and then cannot read it ('secret roadie-app is not valid JSON')",
    "ConfigMap: app.yml rendered with the lab's endpoints and internal-ca.crt the lab's CA, plus search.yml "
    "and hotels.json (the lab's search settings, with this pod as the only search node: the Pulumi program "
    "renders no search settings)",
)


@dataclass(frozen=True)
class PodRun:
    """A played pod: its files, names and URL."""

    directory: Path
    pod: str
    container: str
    url: str
    seconds_to_ready: float


# --- what the lab provides ---------------------------------------------------------------


def lab_endpoints(lab: Lab) -> AppEndpoints:
    """The lab's services as the app's ConfigMap names a stack's: from the service registry,
    choosing as role `app` does (the pg_lb host, every Sentinel, the first RabbitMQ node)."""
    pg = registry.service(lab.group("pg_lb")[0], "haproxy_pg")
    sentinels = [registry.endpoint(host, "sentinel", "sentinel") for host in lab.group("sentinel")]
    rabbitmq = registry.endpoint(lab.group("rabbitmq")[0], "rabbitmq", "amqp")
    return AppEndpoints(
        postgres_host=pg.address,
        postgres_primary_port=pg.ports["primary"],
        postgres_replica_port=pg.ports["replicas"],
        sentinels=tuple((entry.address, entry.port) for entry in sentinels),
        rabbitmq_host=rabbitmq.address,
        rabbitmq_port=rabbitmq.port,
        otlp_endpoint="",  # no Jaeger in the lab
    )


def lab_ca_file(lab: Lab) -> dict[str, str]:
    """The ConfigMap's internal-ca.crt: the lab's CA certificate, which app.yml's
    postgres.tls.root_cert names in the mount (the app verifies the lab's PostgreSQL against it)."""
    path = lab.tls.ca_cert
    try:
        return {CA_CERT_KEY: path.read_text()}
    except FileNotFoundError:
        raise RoadieError(f"the lab's internal CA {path} is missing: `roadie lab up` creates it") from None


def lab_app_secrets(lab: Lab) -> dict[str, str]:
    """The Secret's keys with the lab's passwords: each role variable's lab secret, as the shared
    group_vars map them (`app_postgres_password: "{{ roadie_secrets.postgres_app }}"`)."""
    mapping = yaml.safe_load((shared_group_vars_dir() / "app_servers.yml").read_text()) or {}
    secrets = load_secrets(lab.secrets_file)
    values = {}
    for path, variable in SECRET_ROLE_VARIABLES.items():
        reference = str(mapping.get(variable, ""))
        name = reference.removeprefix("{{ roadie_secrets.").removesuffix(" }}")
        if name == reference or name not in secrets:
            raise RoadieError(f"the shared group_vars app_servers.yml maps {variable} to no lab secret ({reference!r})")
        values[env_overlay.env_name(ENV_PREFIX, path)] = secrets[name]
    return values


def lab_search_files(lab: Lab, node: str, url: str) -> tuple[dict[str, str], dict[str, str]]:
    """search.yml (and the hotel directory) for the pod, from the lab's rendered search settings:
    the pod is the only search node, and the Redis passwords and the node token move to the Secret."""
    node_host = lab.group("app")[0]
    config_dir = hosts.on_disk(node_host, registry.service(node_host, "app").text("config")).parent
    settings = yaml.safe_load((config_dir / SEARCH_CONFIG_NAME).read_text())
    secrets = {env_overlay.env_name(SEARCH_ENV_PREFIX, path): str(_pop(settings, path)) for path in SEARCH_SECRET_PATHS}
    settings["node"] = node
    settings["nodes"] = [{"name": node, "url": url, "weight": 1}]
    files: dict[str, str] = {}
    if settings.get("directory"):
        # The directory is mounted beside the settings, as on the hosts.
        files[HOTELS_FILE] = (config_dir / Path(settings["directory"]["file"]).name).read_text()
        settings["directory"]["file"] = f"{CONFIG_DIR}/{HOTELS_FILE}"
    files[SEARCH_CONFIG_NAME] = yaml.safe_dump(settings, sort_keys=False)
    return files, secrets


def _pop(settings: dict[str, Any], path: tuple[str, ...]) -> Any:
    """Take the setting at `path` out of the (nested) settings."""
    for part in path[:-1]:
        settings = settings[part]
    return settings.pop(path[-1])


def check_address_free(lab: Lab, address: str, port: int) -> None:
    """The pod's address must be no lab host's, and nothing may listen on it already."""
    taken = [host.name for host in lab.hosts if host.address == address]
    if taken:
        raise RoadieError(f"{address} is lab host {taken[0]}'s address: the pod needs a free one")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((address, port))
        except OSError as exc:
            raise RoadieError(f"{address}:{port} is in use ({exc}): the pod needs a free address") from None


# --- what is played ----------------------------------------------------------------------


def configmap(files: dict[str, str]) -> dict[str, Any]:
    """k8s/configmap.yaml with `files` as its data (app.yml among them)."""
    manifest = yaml.safe_load((manifests_dir() / "configmap.yaml").read_text())
    manifest["data"] = dict(files)
    return manifest


def secret(values: dict[str, str]) -> dict[str, Any]:
    """The Secret roadie-app, as k8s/secret.example.yaml describes it, with `values`."""
    manifest = yaml.safe_load((manifests_dir() / "secret.example.yaml").read_text())
    manifest["stringData"] = dict(values)
    return manifest


def deployment(image: str, listen_address: str) -> dict[str, Any]:
    """k8s/deployment.yaml with the overrides podman needs (`OVERRIDES`)."""
    manifest = copy.deepcopy(yaml.safe_load((manifests_dir() / DEPLOYMENT_FILE).read_text()))
    manifest["spec"]["replicas"] = 1
    (container,) = [c for c in manifest["spec"]["template"]["spec"]["containers"] if c["name"] == APP_CONTAINER]
    container["image"] = image
    for key in ("startupProbe", "livenessProbe", "readinessProbe", "ports"):
        container.pop(key, None)
    (listen,) = [variable for variable in container["env"] if variable["name"] == LISTEN_ADDRESS_ENV]
    listen["value"] = listen_address
    return manifest


def readiness_path() -> str:
    """The path the Deployment's readiness probe requests."""
    manifest = yaml.safe_load((manifests_dir() / DEPLOYMENT_FILE).read_text())
    (container,) = [c for c in manifest["spec"]["template"]["spec"]["containers"] if c["name"] == APP_CONTAINER]
    return str(container["readinessProbe"]["httpGet"]["path"])


def lab_documents(lab: Lab, address: str = POD_ADDRESS) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The ConfigMap and the Deployment to play, and the Secret, for the lab."""
    url = f"http://{address}:{APP_PORT}"
    search_files, search_secrets = lab_search_files(lab, POD_NAME, url)
    files = {APP_YML_KEY: render_app_yml(template(), lab_endpoints(lab)), **lab_ca_file(lab), **search_files}
    documents = [configmap(files), deployment(f"localhost/{image_names()[0]}", address)]
    return documents, secret({**lab_app_secrets(lab), **search_secrets})


# --- playing -----------------------------------------------------------------------------


def play(directory: Path, documents: list[dict[str, Any]], secret_manifest: dict[str, Any], url: str,
         timeout: float = 90.0) -> PodRun:  # fmt: skip
    """`podman kube play --network host` the documents, then wait until the readiness path answers."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    remove(directory, missing_ok=True)  # a previous run of ours that did not finish
    kube = directory / "kube.yaml"
    kube.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    secret_file = directory / "secret.json"
    secret_file.touch(mode=0o600)
    name = secret_manifest["metadata"]["name"]
    values = {key: base64.b64encode(value.encode()).decode() for key, value in secret_manifest["stringData"].items()}
    secret_file.write_text(json.dumps(values))
    try:
        podman("secret", "create", name, str(secret_file))
    finally:
        secret_file.unlink()
    started = time.monotonic()
    podman("kube", "play", *PLAY_OPTIONS, str(kube))
    path = readiness_path()
    deadline = started + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(f"{url}{path}", timeout=2)
            if answer.status_code == httpx.codes.OK:
                return PodRun(directory, POD_NAME, CONTAINER_NAME, url, time.monotonic() - started)
            last = f"{answer.status_code} {answer.text[:200]}"
        except httpx.HTTPError as exc:
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(0.25)
    raise RoadieError(f"the pod did not get ready on {url}{path} within {timeout:.0f}s (last: {last}); "
                      f"its log: podman logs {CONTAINER_NAME}")  # fmt: skip


def remove(directory: Path, *, missing_ok: bool = False) -> None:
    """Take down what `play` made, and only that: its pod (by its kube file), the configMap's
    volume podman made for it, and its secret."""
    kube = directory / "kube.yaml"
    steps: list[list[str]] = []
    if kube.exists():
        steps.append(["podman", "kube", "down", str(kube)])
    steps += [
        ["podman", "pod", "rm", "--force", "--ignore", POD_NAME],
        ["podman", "volume", "rm", "--force", APP_NAME],
        ["podman", "secret", "rm", APP_NAME],
    ]
    failures = []
    for argv in steps:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0 and not (missing_ok or "no such" in done.stderr.lower()):
            failures.append(f"{' '.join(argv[1:3])}: {done.stderr.strip()[-200:]}")
    if failures:
        raise RoadieError("taking the pod down left something behind: " + "; ".join(failures))


def logs(container: str = CONTAINER_NAME) -> str:
    done = subprocess.run(["podman", "logs", container], capture_output=True, text=True, check=False)
    return done.stdout + done.stderr


def container_user(container: str = CONTAINER_NAME) -> str:
    """`uid:gid` the container's main process runs as (read from the process, not the spec)."""
    pid = podman("inspect", "--format", "{{.State.Pid}}", container).strip()
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    uid = next(line.split()[1] for line in status if line.startswith("Uid:"))
    gid = next(line.split()[1] for line in status if line.startswith("Gid:"))
    return f"{uid}:{gid}"
