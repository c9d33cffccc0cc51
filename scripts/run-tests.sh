#!/usr/bin/env bash
# The whole test suite, as `make test` and CI run it: lint, unit tests, then a fresh lab
# (purged first, so every run starts from nothing) for the integration and host tests.
# The lab is torn down at the end whatever happened; when something failed, its logs (Ansible
# runs, boot consoles, every host's journal) are kept in reports/ first.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
venv="$here/.venv/bin"
export XDG_CACHE_HOME="$here/.cache" ANSIBLE_HOME="$here/.ansible"
# The full profile: the DR region and the 3-node RabbitMQ cluster are tested too.
profile=${ROADIE_TEST_PROFILE:-full}
suite_started=$(date +%s)
phase_started=$suite_started
phases=()

step() {
  end_phase
  printf '\n\033[1m==> %s\033[0m\n' "$*"
  phase_name=$*
  phase_started=$(date +%s)
}
end_phase() {
  if [ -n "${phase_name:-}" ]; then
    local took=$(( $(date +%s) - phase_started ))
    phases+=("$(printf '%5ds  %s' "$took" "$phase_name")")
    echo "--- ${phase_name}: ${took}s"
  fi
  phase_name=""
}
summary() {
  end_phase
  echo
  echo "Phases:"
  printf '  %s\n' "${phases[@]}"
  echo "  total: $(( $(date +%s) - suite_started ))s"
}
fail() {
  printf '\033[31mFAILED: %s\033[0m\n' "$*"
  if [ -d /var/lib/roadie/lab/machines ]; then
    kept="$here/reports/failed-run-$(date +%Y%m%d-%H%M%S)"
    "$venv/roadie" lab collect-logs "$kept" && echo "the lab's logs are kept in $kept"
  fi
  summary
  exit 1
}

# pytest exits 5 when it collected no test: that is a failure here, never a pass.
run_pytest() {
  "$venv/pytest" "$@"
  local rc=$?
  [ $rc -eq 5 ] && fail "pytest collected no tests ($*)"
  return $rc
}

step "ruff"
"$venv/ruff" check . || fail "ruff check"
"$venv/ruff" format --check . || fail "ruff format"

step "ansible-lint (production profile)"
scripts/ansible-lint.sh --nocolor -q || fail "ansible-lint"

step "unit tests"
run_pytest -m "not lab and not host" -q || fail "unit tests"

# The app's image (Containerfile), as `make image` builds it; the pod test runs it on the lab.
step "app image (make image)"
scripts/build-app-image.sh || fail "app image"

step "lab: fresh start ($profile profile; builds the base image the first time)"
"$venv/roadie" lab down --purge || fail "lab down --purge"
trap '"$venv/roadie" lab down --purge' EXIT
"$venv/roadie" lab up --profile "$profile" || fail "lab up"
"$venv/roadie" lab status

# Faults last: the drills, chaos experiments and the region failover break and heal the
# lab on purpose, so everything that only observes it runs first.
destructive=(tests/lab/alerts tests/lab/drills tests/lab/chaos tests/lab/dr)
step "lab integration and host tests"
run_pytest -m "lab or host" -v --durations=15 "${destructive[@]/#/--ignore=}" tests/lab tests/host || fail "lab tests"

# Each provocation breaks one part and heals it; the tiers run at the same time.
step "alert provocations (every provoked alert fires, notifies, resolves; its runbook names the cause)"
run_pytest -m "lab" -v -s --durations=5 tests/lab/alerts || fail "alert provocations"

step "drills, chaos experiments and DR failover"
run_pytest -m "lab" -v --durations=15 "${destructive[@]:1}" || fail "drill tests"

# Last: the journals now hold every command the drills and the DR failover ran over SSH.
step "secrets in the lab's logs"
"$venv/roadie" lab scan-secrets || fail "a secret in the lab's logs"

summary
echo "all tests passed"
