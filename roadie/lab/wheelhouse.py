"""What the lab hosts pip-install, built once on the controller: a wheelhouse and roadie's wheel.

Hosts install Python software the production way, from a package index: here a local
directory of wheels (the way an air-gapped site mirrors PyPI), mounted read-only into every
host, which the lab inventory's pip configuration names (`--no-index --find-links`). It holds
the dependencies of everything the roles pip-install (roadie's runtime dependencies, Patroni,
moto), as the roles' defaults and pyproject.toml pin them, and is cached under a digest of
those requirements. roadie's own wheel is built from the checkout at every `lab up`
(byte-for-byte reproducible, so an unchanged tree is not reinstalled).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from roadie.errors import RoadieError
from roadie.paths import ansible_dir, project_root

CACHE_DIR = Path(os.environ.get("ROADIE_WHEEL_CACHE", "/var/cache/roadie/wheels"))
# The wheel's timestamps: a fixed date makes the wheel reproducible (see module docstring).
SOURCE_DATE_EPOCH = "315532800"
# The controller's CA store, which the wheelhouse build trusts as the hosts do (host_base).
CONTROLLER_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# What goes into roadie's wheel (pyproject's packages) and is needed to build it.
DIST_SOURCES = ("pyproject.toml", "README.md", "roadie", "app")


def host_requirements() -> list[str]:
    """Every requirement a role pip-installs on a host, pinned where the role pins it."""
    pyproject = tomllib.loads((project_root() / "pyproject.toml").read_text())
    patroni = _role_default("patroni", "patroni_version")
    moto = _role_default("moto", "moto_version")
    return [
        *pyproject["project"]["dependencies"],
        f"patroni[etcd3,psycopg3]=={patroni}",
        f"moto[server]=={moto}",
    ]


def _role_default(role: str, name: str) -> str:
    defaults = yaml.safe_load((ansible_dir() / "roles" / role / "defaults" / "main.yml").read_text())
    return str(defaults[name])


@dataclass(frozen=True)
class Target:
    """The hosts' interpreter: the wheels are built by it (its version decides environment
    markers such as `python_full_version < "3.11.3"`, and sdists compile for it)."""

    rootfs: Path
    python_version: str


def image_target(rootfs: Path) -> Target:
    """The Python of the base image the hosts boot."""
    version = subprocess.run(
        ["chroot", str(rootfs), "python3", "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return Target(rootfs=rootfs, python_version=version)


def digest(requirements: list[str], target: Target) -> str:
    text = "\n".join([target.rootfs.parent.name, target.python_version, *requirements])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def ensure_wheelhouse(target: Target, progress: Callable[[str], None]) -> Path:
    """The cached wheelhouse for today's requirements and the hosts' Python, built if missing."""
    requirements = host_requirements()
    target_dir = CACHE_DIR / digest(requirements, target)
    if (target_dir / "ready").exists():
        return target_dir
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with (CACHE_DIR / f"{target_dir.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target_dir / "ready").exists():
            return target_dir
        started = time.monotonic()
        progress(
            f"building the hosts' wheelhouse {target_dir.name} ({len(requirements)} requirements, "
            f"Python {target.python_version})"
        )
        staging = CACHE_DIR / f"{target_dir.name}.building"
        shutil.rmtree(staging, ignore_errors=True)
        log = CACHE_DIR / f"{target_dir.name}.build.log"
        _build_in_image(target, requirements, staging, log)
        (staging / "ready").write_text("\n".join(requirements) + "\n")
        shutil.rmtree(target_dir, ignore_errors=True)
        staging.rename(target_dir)
        progress(f"wheelhouse {target_dir.name} built in {time.monotonic() - started:.0f}s")
    return target_dir


def _build_in_image(target: Target, requirements: list[str], out: Path, log: Path) -> None:
    """`pip wheel` by the image's own Python, in a throwaway overlay over the image."""
    with tempfile.TemporaryDirectory(prefix="roadie-wheelhouse-") as scratch:
        layers = Path(scratch)
        merged, upper, work = layers / "merged", layers / "upper", layers / "work"
        for path in (merged, upper, work):
            path.mkdir()
        options = f"lowerdir={target.rootfs},upperdir={upper},workdir={work}"
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o", options, str(merged)], check=True)
        try:
            # Name resolution and the controller's CA store: pip verifies TLS as the hosts do.
            shutil.copy2("/etc/resolv.conf", merged / "etc/resolv.conf")
            shutil.copy2(CONTROLLER_CA_BUNDLE, merged / "tmp/ca-bundle.crt")
            script = (
                "set -e; python3 -m venv /tmp/pip-venv; "
                # Debian's pip builds sdists with setup.py and no wheel package: a current pip does it right.
                "/tmp/pip-venv/bin/pip install --quiet --cert /tmp/ca-bundle.crt --upgrade pip wheel; "
                '/tmp/pip-venv/bin/pip wheel --quiet --cert /tmp/ca-bundle.crt --wheel-dir /tmp/wheels "$@"'
            )
            env = {
                "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                "HOME": "/tmp",
                "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                "LANG": "C.UTF-8",
            }
            with log.open("w") as handle:
                result = subprocess.run(
                    ["chroot", str(merged), "sh", "-c", script, "pip-wheel", *requirements],
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                    env=env,
                    check=False,
                )
            if result.returncode != 0:
                raise RoadieError(f"building the hosts' wheels failed (log: {log})")
            shutil.copytree(merged / "tmp/wheels", out)
        finally:
            subprocess.run(["umount", str(merged)], check=False)


def publish(wheelhouse: Path, served: Path) -> None:
    """Make `served` (the directory mounted into every host) hold exactly the wheelhouse's
    wheels. It stays the same directory, so hosts that are already running see the change."""
    if served.is_symlink():
        served.unlink()
    served.mkdir(parents=True, exist_ok=True)
    wanted = {p.name: p for p in wheelhouse.glob("*.whl")}
    for old in served.glob("*.whl"):
        if old.name not in wanted:
            old.unlink()
    for name, source in wanted.items():
        if not (served / name).exists():
            try:
                os.link(source, served / name)
            except OSError:
                shutil.copy2(source, served / name)


def build_roadie_wheel(dist_dir: Path) -> Path:
    """roadie's wheel, built from a clean copy of the checkout (no stale build/ files)."""
    dist_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="roadie-dist-") as scratch:
        tree = Path(scratch) / "src"
        for name in DIST_SOURCES:
            source = project_root() / name
            if source.is_dir():
                shutil.copytree(source, tree / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                tree.mkdir(exist_ok=True)
                shutil.copy2(source, tree / name)
        out = Path(scratch) / "out"
        _pip(["wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(tree)], dist_dir / "build.log")
        (built,) = out.glob("roadie-*.whl")
        target = dist_dir / built.name
        if not target.exists() or target.read_bytes() != built.read_bytes():
            shutil.copy2(built, target)
    return target


def _pip(args: list[str], log: Path) -> None:
    env = {**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    with log.open("w") as out:
        result = subprocess.run(
            [sys.executable, "-m", "pip", *args], stdout=out, stderr=subprocess.STDOUT, env=env, check=False
        )
    if result.returncode != 0:
        raise RoadieError(f"pip {args[0]} failed (log: {log})")
