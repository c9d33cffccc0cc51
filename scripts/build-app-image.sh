#!/usr/bin/env bash
# Builds the app's image (Containerfile) with podman: what `make image` runs, as root, on a
# Debian 12 machine that may reach no image registry (Debian's mirror and PyPI suffice).
#   1. installs podman, buildah and runc (and catatonit, podman's pause process) if missing;
#   2. configures podman for this machine (below);
#   3. runs `python -m roadie.k8s.image build "$@"`: the base (built from Debian's packages
#      unless podman has it, or pulled with --pull-base), the wheels, the image; prints its
#      names and size. Reruns reuse the base, the wheels and podman's layer cache.
# Environment: ROADIE_CA_BUNDLE (the CA store pip verifies PyPI against on this machine; default
# /etc/ssl/certs/ca-certificates.crt), ROADIE_APP_IMAGE_CACHE (default /var/cache/roadie/app-image).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
python="$here/.venv/bin/python"
packages=(podman buildah runc catatonit)
conf=/etc/containers/containers.conf.d/50-roadie.conf

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

[ "$(id -u)" -eq 0 ] || { echo "error: building images needs root (podman's rootful store)" >&2; exit 1; }
[ -x "$python" ] || { echo "error: no venv at $here/.venv: run 'make bootstrap' first" >&2; exit 1; }

# shellcheck source=lib/debian-packages.sh
. "$here/scripts/lib/debian-packages.sh"

# crun is not wanted: it refuses this machine's hybrid cgroups; runc is the runtime.
install_packages() {
  ensure_debian_packages "podman, buildah, runc" "${packages[@]}"
}

# What this machine needs from podman (measured): crun refuses hybrid cgroups ("cgroups in
# hybrid mode not supported") so runc runs containers; no systemd as PID 1, so cgroupfs and a
# file event log; default ulimits within the machine's hard limits (nofile 20000, nproc 32768),
# or every container start fails to raise them.
configure_podman() {
  local wanted
  wanted=$(cat <<'EOF'
# Written by roadie's scripts/build-app-image.sh: podman on this machine (see the script).
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
)
  if [ -f "$conf" ] && [ "$(cat "$conf")" = "$wanted" ]; then
    log "podman configuration: up to date ($conf)"
    return
  fi
  mkdir -p "$(dirname "$conf")"
  printf '%s\n' "$wanted" > "$conf"
  log "podman configuration: written ($conf)"
}

install_packages
configure_podman
exec "$python" -m roadie.k8s.image build "$@"
