#!/usr/bin/env bash
# Installs everything roadie needs on a Debian 12 machine: the Debian packages listed in
# scripts/debian-packages.txt (services kept from auto-starting) and the project venv.
# Safe to run again: each step is skipped when already done.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
venv="$here/.venv"
python=${PYTHON:-python3}

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# shellcheck source=lib/debian-packages.sh
. "$here/scripts/lib/debian-packages.sh"

install_debian_packages() {
  local wanted
  mapfile -t wanted < <(grep -Ev '^\s*(#|$)' "$here/scripts/debian-packages.txt")
  # Debian's postgresql-common would otherwise create and start a "main" cluster.
  mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/roadie.conf
  ensure_debian_packages "Debian packages" "${wanted[@]}"
}

install_venv() {
  local stamp="$venv/.roadie-installed"
  if [ -f "$stamp" ] && [ "$stamp" -nt "$here/pyproject.toml" ]; then
    log "Python venv: up to date ($venv)"
    return
  fi
  log "Python venv: installing roadie and its dependencies into $venv"
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -e "$here[toolkit,dev]"
  touch "$stamp"
  log "Python venv: done"
}

install_debian_packages
install_venv
