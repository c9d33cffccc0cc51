# The README's commands. Each target installs what it needs first (scripts/bootstrap.sh).
SHELL := /bin/bash
VENV := .venv
ROADIE := $(VENV)/bin/roadie
PROFILE ?= core

.PHONY: bootstrap demo test lint lab-up lab-down

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
