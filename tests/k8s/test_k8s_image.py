"""The app's image and the pod run agree with the manifests, the stacks and the hosts' unit:
image names, user, paths, port, uvicorn's options; and the pod run overrides only what podman
needs. Offline: no podman, no lab."""

import itertools
import re
import shlex
from pathlib import Path

import pytest
import yaml

from app.common.settings import CONFIG_ENV, SECRET_SETTINGS
from roadie.k8s import image, podplay
from roadie.lab.secrets import SECRET_NAMES
from roadie.paths import shared_group_vars_dir

ROOT = Path(__file__).resolve().parents[2]
CONTAINERFILE = (ROOT / "Containerfile").read_text()
DEPLOYMENT = yaml.safe_load((ROOT / "k8s/deployment.yaml").read_text())
(CONTAINER,) = DEPLOYMENT["spec"]["template"]["spec"]["containers"]


def final_stage() -> str:
    return CONTAINERFILE.rsplit("\nFROM ", 1)[1]


def entrypoint() -> list[str]:
    (line,) = [line for line in final_stage().splitlines() if line.startswith("ENTRYPOINT ")]
    argv = yaml.safe_load(line.removeprefix("ENTRYPOINT "))
    assert argv[:2] == ["/bin/sh", "-c"], "a shell only to expand the listen address"
    return shlex.split(argv[2])


@pytest.mark.parametrize("stack", sorted((ROOT / "infra").glob("Pulumi.*.yaml")), ids=lambda p: p.stem)
def test_every_stack_deploys_the_image_make_image_tags(stack):
    config = yaml.safe_load(stack.read_text())["config"]
    expected = f"ghcr.io/roadie-platform/roadie-app:{image.project_version()}"
    assert config["roadie:appImage"] == image.image_names()[1] == expected


def test_the_image_runs_as_the_deployments_user_and_reads_where_it_mounts():
    context = DEPLOYMENT["spec"]["template"]["spec"]["securityContext"]
    assert re.search(r"^USER (\d+):(\d+)$", final_stage(), re.MULTILINE).groups() == (
        str(context["runAsUser"]),
        str(context["runAsGroup"]),
    )
    env = {variable["name"]: variable.get("value") for variable in CONTAINER["env"]}
    assert f"{CONFIG_ENV}={env[CONFIG_ENV]}" in final_stage()
    assert f"{image.LISTEN_ADDRESS_ENV}=0.0.0.0" in final_stage()
    (port,) = CONTAINER["ports"]
    assert f"EXPOSE {port['containerPort']}" in final_stage()
    assert "HEALTHCHECK" not in CONTAINERFILE.replace("# No HEALTHCHECK", "")


def test_uvicorn_runs_with_the_hosts_unit_options():
    tasks = yaml.safe_load((ROOT / "ansible/roles/app/tasks/services.yml").read_text())
    (web,) = [task for task in tasks if task.get("vars", {}).get("service_unit_name") == "roadie-app"]
    unit = web["vars"]["service_unit_command"][1:]
    argv = entrypoint()
    assert argv[:2] == ["exec", "uvicorn"]
    image_options = argv[2:-1]
    assert argv[-1] == "$@"
    assert [a for a in image_options if a.startswith("-")] == [a for a in unit if a.startswith("-")]
    # Options with a literal value on the hosts (templated ones are checked below).
    valued = [(a, str(b)) for a, b in itertools.pairwise(unit) if a.startswith("--") and not str(b).startswith("--")]
    fixed = {a: b for a, b in valued if "{{" not in b}
    given = dict(itertools.pairwise(image_options))
    assert {option: given[option] for option in fixed} == fixed
    assert given["--host"] == f"${image.LISTEN_ADDRESS_ENV}"
    assert given["--port"] == str(CONTAINER["ports"][0]["containerPort"])
    defaults = yaml.safe_load((ROOT / "ansible/roles/app/defaults/main.yml").read_text())
    grace = int(given["--timeout-graceful-shutdown"])
    assert grace == defaults["app_graceful_timeout"]
    assert grace < DEPLOYMENT["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]


def test_the_base_is_debians_slim_image_at_a_point_release():
    base = image.base_image_name()
    assert re.fullmatch(r"docker\.io/library/debian:12\.\d+-slim", base)
    assert image.point_release(base) == base.split(":")[1].removesuffix("-slim")
    with pytest.raises(Exception, match="pull it instead"):
        image.point_release("docker.io/library/python:3.11-slim-bookworm")


def test_the_image_installs_roadie_without_extras_and_offline():
    build = CONTAINERFILE.split("FROM python AS build", 1)[1].split("\nFROM ", 1)[0]
    assert "--no-index --find-links /wheels" in build
    assert re.search(r"pip install [^\n]*\broadie\s", build) and "roadie[" not in build


def test_the_pod_run_overrides_only_what_podman_needs():
    played = podplay.deployment("localhost/roadie-app:9.9.9", "127.1.0.32")
    (container,) = played["spec"]["template"]["spec"]["containers"]
    assert played["spec"]["replicas"] == 1
    assert container["image"] == "localhost/roadie-app:9.9.9"
    env = {v["name"]: v for v in container["env"]}
    assert env[image.LISTEN_ADDRESS_ENV]["value"] == "127.1.0.32"
    dropped = {"startupProbe", "livenessProbe", "readinessProbe", "ports"}
    assert dropped <= set(CONTAINER) and not dropped & set(container)
    # Everything else is the manifest's.
    assert {k: v for k, v in container.items() if k not in {"image", "env"}} == {
        k: v for k, v in CONTAINER.items() if k not in {"image", "env", *dropped}
    }
    assert [v for v in container["env"] if v["name"] != image.LISTEN_ADDRESS_ENV] == [
        v for v in CONTAINER["env"] if v["name"] != image.LISTEN_ADDRESS_ENV
    ]
    original_pod = {k: v for k, v in DEPLOYMENT["spec"]["template"]["spec"].items() if k != "containers"}
    assert {k: v for k, v in played["spec"]["template"]["spec"].items() if k != "containers"} == original_pod
    assert podplay.readiness_path() == CONTAINER["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_the_lab_pods_secret_comes_from_the_lab_secrets_the_hosts_use():
    assert set(podplay.SECRET_ROLE_VARIABLES) == set(SECRET_SETTINGS)
    mapping = yaml.safe_load((shared_group_vars_dir() / "app_servers.yml").read_text())
    for variable in podplay.SECRET_ROLE_VARIABLES.values():
        name = re.fullmatch(r"\{\{ roadie_secrets\.(\w+) \}\}", mapping[variable]).group(1)
        assert name in SECRET_NAMES, variable
