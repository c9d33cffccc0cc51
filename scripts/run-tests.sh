#!/usr/bin/env bash
# The whole test suite, as `make test` and CI run it: lint, unit tests, then a fresh lab
# (purged first, so every run starts from nothing) for the integration and host tests.
# The lab is torn down at the end whatever happened.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
venv="$here/.venv/bin"
export XDG_CACHE_HOME="$here/.cache" ANSIBLE_HOME="$here/.ansible"
# The full profile: the DR region and the 3-node RabbitMQ cluster are tested too.
profile=${ROADIE_TEST_PROFILE:-full}

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
fail() { printf '\033[31mFAILED: %s\033[0m\n' "$*"; exit 1; }

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

step "lab: fresh start ($profile profile)"
"$venv/roadie" lab down --purge || fail "lab down --purge"
trap '"$venv/roadie" lab down --purge' EXIT
start=$(date +%s)
"$venv/roadie" lab up --profile "$profile" || fail "lab up"
echo "lab bring-up took $(( $(date +%s) - start ))s"
"$venv/roadie" lab status

# Faults last: the drills, chaos experiments and the region failover break and heal the
# lab on purpose, so everything that only observes it runs first.
destructive=(tests/lab/drills tests/lab/chaos tests/lab/dr)
step "lab integration and host tests"
run_pytest -m "lab or host" -v --durations=15 "${destructive[@]/#/--ignore=}" tests/lab tests/host || fail "lab tests"

step "drills, chaos experiments and DR failover"
run_pytest -m "lab" -v --durations=15 "${destructive[@]}" || fail "drill tests"
echo "all tests passed"
