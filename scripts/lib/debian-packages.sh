# Sourced by scripts/bootstrap.sh and scripts/build-app-image.sh (which define `log`).
#
# ensure_debian_packages LABEL PACKAGE...: installs those of the packages that are missing,
# keeping their services from starting (the lab runs its own instances on loopback addresses,
# and nothing here needs podman's API socket): policy-rc.d is Debian's mechanism for that, and it
# is removed afterwards only if this function created it.
ensure_debian_packages() {
  local label=$1
  shift
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "$label: all $# present"
    return 0
  fi
  log "$label: installing ${missing[*]}"
  local created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    created_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ "$created_policy" -eq 1 ] && rm -f /usr/sbin/policy-rc.d
  log "$label: done"
}
