# The README's commands. Each target installs what it needs first (scripts/bootstrap.sh).
SHELL := /bin/bash
VENV := .venv
ROADIE := $(VENV)/bin/roadie
PROFILE ?= core

.PHONY: bootstrap demo test lint lab-up lab-down image

bootstrap:
	scripts/bootstrap.sh

demo: bootstrap
	$(ROADIE) lab up --profile $(PROFILE)
	$(ROADIE) lab status
	$(ROADIE) drill db-primary-loss

test: bootstrap
	scripts/run-tests.sh

lint: bootstrap
	$(VENV)/bin/ruff check .
	scripts/ansible-lint.sh

lab-up: bootstrap
	$(ROADIE) lab up --profile $(PROFILE)

lab-down:
	$(ROADIE) lab down

# The app's image (Containerfile): podman installed and configured, the base built from Debian's
# packages if no registry gave it, then roadie-app:<version> and ghcr.io/roadie-platform/roadie-app:<version>.
image: bootstrap
	scripts/build-app-image.sh
