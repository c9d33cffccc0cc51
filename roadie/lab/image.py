"""The lab's base image: a Debian 12 root filesystem that every lab host boots read-only.

Built once with debootstrap from `infra/lab/image.yml` and cached under a digest of that file
and of this module's build recipe, so a changed package list builds a new image and an
unchanged one is reused (`roadie lab up` on a warm machine never rebuilds). The build is the
one a golden image (an AMI) gets for production: packages installed but not started, their
default units disabled, no machine identity and no SSH host keys (each host gets its own when
it is provisioned), a deploy user with passwordless sudo and no password.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import yaml

from roadie.errors import RoadieError
from roadie.lab.plan import DEPLOY_USER
from roadie.paths import project_root

CACHE_DIR = Path(os.environ.get("ROADIE_IMAGE_CACHE", "/var/cache/roadie/images"))
# Bump when the build steps below change in a way that must produce a new image.
RECIPE_VERSION = "1"
# Services must not start while the image is built, nor when a role installs a package that is
# already present: configuration management starts what a host runs (see enabled_units).
POLICY_RC_D = "#!/bin/sh\n# Packages do not start services; the roles start what a host runs.\nexit 101\n"
SSHD_CONFIG = (
    "# roadie lab image: keys only, no root login. ListenAddress is set per host.\n"
    "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin no\n"
    "HostKey /etc/ssh/ssh_host_ed25519_key\n"
)
# Journals persist on the host's disk (power loss included) and stay small.
JOURNALD_CONFIG = "[Journal]\nStorage=persistent\nSystemMaxUse=64M\n"


@dataclass(frozen=True)
class ImageSpec:
    suite: str
    mirror: str
    boot_packages: tuple[str, ...]
    role_packages: tuple[str, ...]
    enabled_units: tuple[str, ...]
    digest: str


@dataclass(frozen=True)
class Image:
    """A built image: its root filesystem and the digest it was built for."""

    digest: str
    rootfs: Path


def spec_file() -> Path:
    return project_root() / "infra" / "lab" / "image.yml"


def load_spec(path: Path | None = None) -> ImageSpec:
    source = path or spec_file()
    text = source.read_text()
    data = yaml.safe_load(text)
    try:
        spec = ImageSpec(
            suite=str(data["suite"]),
            mirror=os.environ.get("ROADIE_LAB_MIRROR") or str(data["mirror"]),
            boot_packages=tuple(data["boot_packages"]),
            role_packages=tuple(data["role_packages"]),
            enabled_units=tuple(data["enabled_units"]),
            digest=hashlib.sha256(f"{RECIPE_VERSION}\n{text}".encode()).hexdigest()[:16],
        )
    except (KeyError, TypeError) as err:
        raise RoadieError(f"{source}: missing or malformed field {err}") from err
    return spec


def cached(spec: ImageSpec) -> Image | None:
    rootfs = CACHE_DIR / spec.digest / "rootfs"
    return Image(spec.digest, rootfs) if (CACHE_DIR / spec.digest / "ready").exists() else None


def ensure_image(spec: ImageSpec, progress: Callable[[str], None]) -> Image:
    """The cached image for `spec`, built first if there is none (takes 1.5-3 minutes)."""
    if (image := cached(spec)) is not None:
        return image
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with _lock(CACHE_DIR / f"{spec.digest}.lock"):
        if (image := cached(spec)) is not None:  # another `lab up` built it meanwhile
            return image
        return _build(spec, progress)


@contextmanager
def _lock(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _build(spec: ImageSpec, progress: Callable[[str], None]) -> Image:
    for tool in ("debootstrap", "chroot"):
        if shutil.which(tool) is None:
            raise RoadieError(f"building the lab image needs {tool}: run 'make bootstrap' first")
    target = CACHE_DIR / spec.digest
    staging = CACHE_DIR / f"{spec.digest}.building"
    shutil.rmtree(staging, ignore_errors=True)
    rootfs = staging / "rootfs"
    started = time.monotonic()
    log = CACHE_DIR / f"{spec.digest}.build.log"
    with log.open("w") as out:
        progress(f"building the lab base image {spec.digest} (debootstrap {spec.suite}; log: {log})")
        _run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(spec.boot_packages)}",
                spec.suite,
                str(rootfs),
                spec.mirror,
            ],
            out,
        )
        _prepare(rootfs)
        progress(f"installing {len(spec.role_packages)} packages the roles use into the image")
        with proc_mounted(rootfs):
            _chroot(rootfs, ["apt-get", "install", "-y", "-q", "--no-install-recommends", *spec.role_packages], out)
        _disable_units(rootfs, spec.enabled_units, out)
        _add_deploy_user(rootfs, out)
        _chroot(rootfs, ["apt-get", "clean"], out)
        _strip_identity(rootfs)
    (staging / "ready").write_text(f"{spec.digest} built in {time.monotonic() - started:.0f}s\n")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    progress(f"lab base image {spec.digest} built in {time.monotonic() - started:.0f}s")
    return Image(spec.digest, target / "rootfs")


def _prepare(rootfs: Path) -> None:
    policy = rootfs / "usr/sbin/policy-rc.d"
    policy.write_text(POLICY_RC_D)
    policy.chmod(0o755)
    # postgresql-common would create and start a "main" cluster; Patroni creates its own.
    createcluster = rootfs / "etc/postgresql-common/createcluster.d"
    createcluster.mkdir(parents=True, exist_ok=True)
    (createcluster / "roadie.conf").write_text("create_main_cluster = false\n")
    (rootfs / "etc/ssh/sshd_config.d").mkdir(parents=True, exist_ok=True)
    (rootfs / "etc/ssh/sshd_config.d/10-roadie-image.conf").write_text(SSHD_CONFIG)
    journald = rootfs / "etc/systemd/journald.conf.d"
    journald.mkdir(parents=True, exist_ok=True)
    (journald / "roadie.conf").write_text(JOURNALD_CONFIG)
    (rootfs / "var/log/journal").mkdir(parents=True, exist_ok=True)


def _disable_units(rootfs: Path, keep: tuple[str, ...], out: IO[str]) -> None:
    listing = subprocess.run(
        ["chroot", str(rootfs), "systemctl", "list-unit-files", "--state=enabled", "--no-legend"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    enabled = [line.split()[0] for line in listing.splitlines() if line.strip()]
    unwanted = [unit for unit in enabled if unit not in keep]
    if unwanted:
        _chroot(rootfs, ["systemctl", "disable", *unwanted], out)


def _add_deploy_user(rootfs: Path, out: IO[str]) -> None:
    _chroot(rootfs, ["useradd", "--create-home", "--shell", "/bin/bash", DEPLOY_USER], out)
    sudoers = rootfs / "etc/sudoers.d" / DEPLOY_USER
    sudoers.write_text(f"{DEPLOY_USER} ALL=(ALL) NOPASSWD:ALL\n")
    sudoers.chmod(0o440)


def _strip_identity(rootfs: Path) -> None:
    """No host may share another's identity: machine-id and SSH host keys are per host."""
    (rootfs / "etc/machine-id").write_text("")
    for key in (rootfs / "etc/ssh").glob("ssh_host_*"):
        key.unlink()


@contextmanager
def proc_mounted(rootfs: Path) -> Iterator[None]:
    """Some maintainer scripts read /proc; mount it into a root filesystem being built, for the
    install only (the lab's base image and the app image's base)."""
    proc = rootfs / "proc"
    subprocess.run(["mount", "-t", "proc", "proc", str(proc)], check=True)
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(proc)], check=False)


def _chroot(rootfs: Path, argv: list[str], out: IO[str]) -> None:
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    _run(["chroot", str(rootfs), *argv], out, env=env)


def _run(argv: list[str], out: IO[str], env: dict[str, str] | None = None) -> None:
    out.flush()
    result = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, env=env, check=False)
    if result.returncode != 0:
        raise RoadieError(f"building the lab image failed at '{' '.join(argv[:4])} ...' (log: {out.name})")
