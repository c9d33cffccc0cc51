#!/usr/bin/env bash
# ansible-lint (production profile) over the roles and playbooks, offline and with its
# caches inside the project.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
export ANSIBLE_HOME="$here/.ansible" XDG_CACHE_HOME="$here/.cache" ANSIBLE_CONFIG="$here/ansible/ansible.cfg"
cd "$here/ansible"
exec "$here/.venv/bin/ansible-lint" --offline --profile production "$@"
