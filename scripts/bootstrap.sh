#!/usr/bin/env bash
# Installs everything roadie needs on a Debian 12 machine: the Debian packages listed in
# scripts/debian-packages.txt (services kept from auto-starting) and the project venv.
# Safe to run again: each step is skipped when already done.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
venv="$here/.venv"
python=${PYTHON:-python3}

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

install_debian_packages() {
  local wanted missing=()
  mapfile -t wanted < <(grep -Ev '^\s*(#|$)' "$here/scripts/debian-packages.txt")
  for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "Debian packages: all ${#wanted[@]} present"
    return
  fi
  log "Debian packages: installing ${missing[*]}"
  # Distro services must not start: the lab runs its own instances on loopback addresses.
  # policy-rc.d is the Debian mechanism for that; remove it afterwards only if we created it.
  local created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    created_policy=1
  fi
  # Debian's postgresql-common would otherwise create and start a "main" cluster.
  mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/roadie.conf
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ "$created_policy" -eq 1 ] && rm -f /usr/sbin/policy-rc.d
  log "Debian packages: done"
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
