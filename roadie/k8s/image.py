"""The app's image (the repository's Containerfile), built with podman on a machine that may
reach no image registry.

`ensure_image` does three things, each reused when its input has not changed:
1. The base: the Containerfile's `BASE_IMAGE`, Debian 12's slim image at a point release. If
   podman already has it (pulled from a registry, or built here before from the same recipe) it
   is used as it is; otherwise it is built here under that very name from Debian's packages:
   debootstrap `minbase`, the suite's updates and security updates, and the slim image's
   dpkg/apt settings, then checked to be the tag's point release and `podman import`ed. The
   image carries the recipe's digest in a label, so a changed recipe builds it again.
2. The wheels: roadie's own wheel (reproducible: an unchanged tree gives the same bytes) and
   the wheels of its runtime dependencies (pyproject's `[project.dependencies]`, no extras),
   built by the image's own Python (the Containerfile's `python` stage, run once as a
   throwaway container), so markers like `python_full_version < "3.11.3"` are decided by the
   interpreter that runs them. pip verifies PyPI against this machine's CA store
   (`ROADIE_CA_BUNDLE`; a TLS proxy's CA is in it here), mounted read-only into that container
   only: the image build needs no index (`--no-index`) and no CA. Cached under a digest of the
   requirements and the Python version.
3. `podman build` of the Containerfile over a context holding those wheels, tagged
   `roadie-app:<version>` and `ghcr.io/roadie-platform/roadie-app:<version>` (what the Pulumi
   stacks deploy, `roadie:appImage`; push that one to the registry).

`python -m roadie.k8s.image build` is what `make image` runs (scripts/build-app-image.sh
installs podman, buildah and runc first and configures podman for this machine).
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from roadie.errors import RoadieError
from roadie.lab.image import proc_mounted
from roadie.lab.wheelhouse import build_roadie_wheel
from roadie.paths import project_root

CACHE_DIR = Path(os.environ.get("ROADIE_APP_IMAGE_CACHE", "/var/cache/roadie/app-image"))
CA_BUNDLE = Path(os.environ.get("ROADIE_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt"))
LOCAL_NAME = "roadie-app"
# The name the stacks deploy (infra/Pulumi.*.yaml `roadie:appImage`; a unit test keeps them equal).
REGISTRY_NAME = "ghcr.io/roadie-platform/roadie-app"
# The listen address the entrypoint passes to uvicorn (the Containerfile's default: 0.0.0.0).
LISTEN_ADDRESS_ENV = "ROADIE_APP_LISTEN_ADDRESS"
APP_UID = 10001

# The Containerfile's `python` stage, tagged: the wheels are built by the image's own Python.
PYTHON_STAGE = f"localhost/{LOCAL_NAME}-python:build"
BASE_LABEL = "org.roadie.base-recipe"
# Bump when the base recipe below changes in a way that must produce a new base image.
BASE_RECIPE_VERSION = "1"
SUITE = "bookworm"
MIRROR = os.environ.get("ROADIE_DEBIAN_MIRROR", "http://deb.debian.org/debian")
SECURITY_MIRROR = os.environ.get("ROADIE_DEBIAN_SECURITY_MIRROR", "http://deb.debian.org/debian-security")
# What Debian's slim image has (debuerreotype's slimming): sources in deb822, no docs, man pages
# or locales from any package installed later, apt's caches cleaned after every install.
BASE_FILES: dict[str, str] = {
    "etc/apt/sources.list.d/debian.sources": (
        f"Types: deb\nURIs: {MIRROR}\nSuites: {SUITE} {SUITE}-updates\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
        f"Types: deb\nURIs: {SECURITY_MIRROR}\nSuites: {SUITE}-security\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    ),
    "etc/dpkg/dpkg.cfg.d/docker": (
        "# This is the slim variant of the Debian base image.\n"
        "path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\n"
        "path-exclude /usr/share/groff/*\npath-exclude /usr/share/info/*\npath-exclude /usr/share/linda/*\n"
        "path-exclude /usr/share/lintian/overrides/*\npath-exclude /usr/share/locale/*\n"
        "path-exclude /usr/share/man/*\n"
    ),
    "etc/apt/apt.conf.d/docker-clean": (
        'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb '
        '/var/cache/apt/*.bin || true"; };\n'
        'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb '
        '/var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\n'
        'Dir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n'
    ),
    "etc/apt/apt.conf.d/docker-autoremove-suggests": 'Apt::AutoRemove::SuggestsImportant "false";\n',
    "etc/apt/apt.conf.d/docker-gzip-indexes": 'Acquire::GzipIndexes "true";\n',
    "etc/apt/apt.conf.d/docker-no-languages": 'Acquire::Languages "none";\n',
}
# Paths the slim image drops (the dpkg excludes above, applied to what debootstrap installed).
SLIM_GLOBS = ("usr/share/man/*", "usr/share/info/*", "usr/share/groff/*", "usr/share/linda/*",
              "usr/share/lintian/overrides/*", "usr/share/locale/*")  # fmt: skip


@dataclass(frozen=True)
class BuiltImage:
    names: tuple[str, ...]
    size_bytes: int
    seconds: float


def containerfile() -> Path:
    return project_root() / "Containerfile"


def project_version() -> str:
    return str(tomllib.loads((project_root() / "pyproject.toml").read_text())["project"]["version"])


def image_names(version: str | None = None) -> tuple[str, str]:
    """The local tag and the registry tag of this version (the first is what the lab plays)."""
    tag = version or project_version()
    return f"{LOCAL_NAME}:{tag}", f"{REGISTRY_NAME}:{tag}"


def base_image_name(path: Path | None = None) -> str:
    """The default of the Containerfile's `ARG BASE_IMAGE`: the FROM of both its stages."""
    source = path or containerfile()
    match = re.search(r"^ARG BASE_IMAGE=(\S+)$", source.read_text(), re.MULTILINE)
    if match is None:
        raise RoadieError(f"{source}: no 'ARG BASE_IMAGE=<image>' line (the base both stages build FROM)")
    return match.group(1)


def point_release(base: str) -> str:
    """`docker.io/library/debian:12.15-slim` -> `12.15`: what the locally built base must be."""
    match = re.fullmatch(r"(?:docker\.io/)?(?:library/)?debian:(\d+\.\d+)-slim", base)
    if match is None:
        raise RoadieError(
            f"cannot build the base {base} here: only Debian's slim image at a point release "
            "(debian:<major>.<minor>-slim) can be built from Debian's packages; pull it instead (--pull-base)"
        )
    return match.group(1)


def base_recipe_digest(base: str) -> str:
    """What the locally built base is made from: a changed recipe builds it again."""
    recipe = "\n".join([BASE_RECIPE_VERSION, base, SUITE, MIRROR, SECURITY_MIRROR])
    recipe += "".join(f"\n{path}\n{text}" for path, text in sorted(BASE_FILES.items()))
    return hashlib.sha256(recipe.encode()).hexdigest()[:16]


# --- podman -------------------------------------------------------------------------------


def podman(*args: str, log: Path | None = None, stdin: bytes | None = None) -> str:
    """Run podman; a failure raises with the command's last lines (or its log's name)."""
    if shutil.which("podman") is None:
        raise RoadieError("podman is not installed: run 'make image' (scripts/build-app-image.sh installs it)")
    if log is not None:
        with log.open("ab") as out:
            result = subprocess.run(["podman", *args], input=stdin, stdout=out, stderr=subprocess.STDOUT, check=False)
        if result.returncode != 0:
            tail = " / ".join(log.read_text(errors="replace").strip().splitlines()[-2:])
            raise RoadieError(f"podman {args[0]} failed (exit {result.returncode}): {tail} (log: {log})")
        return ""
    done = subprocess.run(["podman", *args], input=stdin, capture_output=True, check=False)
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-3:]
        raise RoadieError(f"podman {' '.join(args[:2])} failed: {' / '.join(tail)}")
    return done.stdout.decode(errors="replace")


def image_exists(name: str) -> bool:
    return subprocess.run(["podman", "image", "exists", name], check=False).returncode == 0


def image_label(name: str, label: str) -> str:
    return podman("image", "inspect", "--format", f'{{{{index .Labels "{label}"}}}}', name).strip()


def image_size(name: str) -> int:
    return int(podman("image", "inspect", "--format", "{{.Size}}", name).strip())


# --- the base -----------------------------------------------------------------------------


def ensure_base(base: str, progress: Callable[[str], None], *, pull: bool = False) -> str:
    """The base image in podman's store: reused, pulled (`pull`) or built here."""
    digest = base_recipe_digest(base)
    if image_exists(base):
        label = image_label(base, BASE_LABEL)
        if label in ("", "<no value>"):
            progress(f"base {base}: present (not built here: pulled from a registry), used as is")
            return base
        if label == digest:
            progress(f"base {base}: built here before from the same recipe ({digest}), reused")
            return base
        progress(f"base {base}: built from another recipe ({label}), building it again")
    if pull:
        progress(f"base {base}: pulling")
        podman("pull", base)
        return base
    _build_base(base, digest, progress)
    return base


def _build_base(base: str, digest: str, progress: Callable[[str], None]) -> None:
    release = point_release(base)
    if shutil.which("debootstrap") is None:
        raise RoadieError("building the base image needs debootstrap: run 'make bootstrap' first")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    rootfs = CACHE_DIR / f"base-{digest}.rootfs"
    log = CACHE_DIR / f"base-{digest}.log"
    log.write_text("")
    shutil.rmtree(rootfs, ignore_errors=True)
    started = time.monotonic()
    progress(f"base {base}: building from Debian's packages (debootstrap {SUITE} minbase; log: {log})")
    try:
        _run(["debootstrap", "--variant=minbase", SUITE, str(rootfs), MIRROR], log)
        _slim_and_update(rootfs, log)
        found = (rootfs / "etc/debian_version").read_text().strip()
        if found != release:
            raise RoadieError(
                f"Debian's mirror now serves {found}, not {release}: set the Containerfile's BASE_IMAGE "
                f"to docker.io/library/debian:{found}-slim (the name must say what the image is)"
            )
        tar = subprocess.run(
            ["tar", "--numeric-owner", "--xattrs", "-C", str(rootfs), "-c", "."], capture_output=True, check=True
        )
        podman(
            "import",
            "--change",
            'CMD ["bash"]',
            "--change",
            f"LABEL {BASE_LABEL}={digest}",
            "-",
            base,
            log=log,
            stdin=tar.stdout,
        )
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)
    progress(f"base {base}: built in {time.monotonic() - started:.0f}s")


def _slim_and_update(rootfs: Path, log: Path) -> None:
    """The slim image's settings, the suite's updates and security updates, no caches."""
    (rootfs / "etc/apt/sources.list").unlink(missing_ok=True)
    for relative, text in BASE_FILES.items():
        path = rootfs / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    shutil.copy2("/etc/resolv.conf", rootfs / "etc/resolv.conf")
    with proc_mounted(rootfs):
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive", "LANG": "C.UTF-8"}
        _run(["chroot", str(rootfs), "apt-get", "update", "-q"], log, env)
        _run(["chroot", str(rootfs), "apt-get", "dist-upgrade", "-y", "-q"], log, env)
        _run(["chroot", str(rootfs), "apt-get", "clean"], log, env)
    for pattern in SLIM_GLOBS:
        for path in rootfs.glob(pattern):
            _remove(path)
    for doc in (rootfs / "usr/share/doc").glob("*/*"):
        if doc.name != "copyright":
            _remove(doc)
    # No identity and nothing the runtime provides: podman mounts /dev, /etc/hostname and
    # /etc/resolv.conf into every container.
    for relative in ("var/lib/apt/lists", "var/cache/apt", "dev", "tmp", "var/log"):
        for path in (rootfs / relative).glob("*"):
            _remove(path)
    for relative in ("etc/hostname", "etc/resolv.conf"):
        (rootfs / relative).unlink(missing_ok=True)
    (rootfs / "etc/machine-id").write_text("")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _run(argv: list[str], log: Path, env: dict[str, str] | None = None) -> None:
    with log.open("a") as out:
        out.write(f"$ {' '.join(argv)}\n")
        out.flush()
        result = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, env=env, check=False)
    if result.returncode != 0:
        tail = " / ".join(log.read_text(errors="replace").strip().splitlines()[-2:])
        raise RoadieError(f"{' '.join(argv[:2])} failed (exit {result.returncode}): {tail} (log: {log})")


# --- the wheels ---------------------------------------------------------------------------


def runtime_requirements() -> list[str]:
    """What the image installs besides roadie: pyproject's dependencies, no extras."""
    return list(tomllib.loads((project_root() / "pyproject.toml").read_text())["project"]["dependencies"])


def ensure_python_stage(base: str, progress: Callable[[str], None]) -> str:
    """The Containerfile's `python` stage (the base with Debian's Python), tagged for `pip wheel`."""
    context = CACHE_DIR / "python-context"
    context.mkdir(parents=True, exist_ok=True)
    log = CACHE_DIR / "python-stage.log"
    log.write_text("")
    podman(
        "build",
        "--isolation=chroot",
        "--pull=never",
        "--target",
        "python",
        "--build-arg",
        f"BASE_IMAGE={base}",
        "--file",
        str(containerfile()),
        "--tag",
        PYTHON_STAGE,
        str(context),
        log=log,
    )
    probe = "import platform; print(platform.python_version())"
    version = podman("run", "--rm", "--network", "none", PYTHON_STAGE, "python3", "-c", probe).strip()
    progress(f"python stage: Debian's Python {version} ({PYTHON_STAGE})")
    return version


def ensure_dependency_wheels(base: str, progress: Callable[[str], None]) -> Path:
    """The runtime dependencies' wheels, built by the image's Python; cached per requirements
    and Python version."""
    requirements = runtime_requirements()
    python_version = ensure_python_stage(base, progress)
    key = "\n".join([python_version, platform.machine(), *requirements])
    target = CACHE_DIR / "wheels" / hashlib.sha256(key.encode()).hexdigest()[:16]
    if (target / "ready").exists():
        progress(f"wheels: {len(requirements)} runtime requirements, cached ({target})")
        return target
    if not CA_BUNDLE.is_file():
        raise RoadieError(f"no CA bundle at {CA_BUNDLE} for pip to verify PyPI: set ROADIE_CA_BUNDLE")
    staging = target.with_suffix(".building")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    log = target.with_suffix(".log")
    log.write_text("")
    started = time.monotonic()
    progress(f"wheels: building {len(requirements)} runtime requirements with the image's Python {python_version}")
    # A throwaway container of the python stage: this machine's CA store is mounted read-only
    # for pip to verify PyPI (through this machine's TLS proxy); it never enters the image.
    script = (
        "set -e; python3 -m venv /tmp/pip; "
        # Debian's pip builds sdists with setup.py and no wheel package: a current pip does it right.
        "/tmp/pip/bin/pip install --quiet --cert /run/ca-bundle.crt --upgrade pip wheel; "
        '/tmp/pip/bin/pip wheel --quiet --cert /run/ca-bundle.crt --wheel-dir /wheels "$@"'
    )
    podman(
        "run",
        "--rm",
        "--network",
        "host",
        "--env",
        "PIP_DISABLE_PIP_VERSION_CHECK=1",
        "--volume",
        f"{CA_BUNDLE}:/run/ca-bundle.crt:ro",
        "--volume",
        f"{staging}:/wheels",
        PYTHON_STAGE,
        "sh",
        "-c",
        script,
        "pip-wheel",
        *requirements,
        log=log,
    )
    (staging / "ready").write_text("\n".join(requirements) + "\n")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    progress(f"wheels: built in {time.monotonic() - started:.0f}s")
    return target


def build_context(dependency_wheels: Path, roadie_wheel: Path) -> Path:
    """The build's context: wheels/ with roadie's wheel and its dependencies' (and nothing else)."""
    context = CACHE_DIR / "context"
    shutil.rmtree(context, ignore_errors=True)
    wheels = context / "wheels"
    wheels.mkdir(parents=True)
    for wheel in [*dependency_wheels.glob("*.whl"), roadie_wheel]:
        try:
            os.link(wheel, wheels / wheel.name)
        except OSError:  # another filesystem
            shutil.copy2(wheel, wheels / wheel.name)
    return context


# --- the image ----------------------------------------------------------------------------


def ensure_image(progress: Callable[[str], None] = print, *, pull_base: bool = False) -> BuiltImage:
    """Build (or reuse, through podman's layer cache) the app's image; returns its names and size."""
    started = time.monotonic()
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with _lock(CACHE_DIR / "build.lock"):
        base = ensure_base(base_image_name(), progress, pull=pull_base)
        dependencies = ensure_dependency_wheels(base, progress)
        roadie_wheel = build_roadie_wheel(CACHE_DIR / "dist")
        context = build_context(dependencies, roadie_wheel)
        version = project_version()
        names = image_names(version)
        log = CACHE_DIR / "build.log"
        log.write_text("")
        progress(f"image: podman build {', '.join(names)} (log: {log})")
        tags = [arg for name in names for arg in ("--tag", name)]
        podman(
            "build",
            "--isolation=chroot",
            "--pull=never",
            "--build-arg",
            f"BASE_IMAGE={base}",
            "--build-arg",
            f"VERSION={version}",
            "--file",
            str(containerfile()),
            *tags,
            str(context),
            log=log,
        )
    return BuiltImage(names=names, size_bytes=image_size(names[0]), seconds=time.monotonic() - started)


@contextmanager
def _lock(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m roadie.k8s.image", description="Build the app's image.")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build the base (if needed), the wheels and the app's image")
    build.add_argument("--pull-base", action="store_true", help="pull the base from its registry instead")
    args = parser.parse_args(argv)
    try:
        built = ensure_image(lambda line: print(f"==> {line}", flush=True), pull_base=args.pull_base)
    except RoadieError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"image: {' '.join(built.names)}")
    print(f"size: {built.size_bytes / 1e6:.1f} MB ({built.size_bytes} bytes); took {built.seconds:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
