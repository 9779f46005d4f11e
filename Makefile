# webstack — the two commands a newcomer needs: `make plan STACK=staging` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STACK  ?= staging
ARCH   ?= arm64
BASE   ?= main
export PYTHONPATH := $(CURDIR)
export PYTHONWARNINGS := ignore::DeprecationWarning

.PHONY: help install plan plan-diff policy lint test bench package bench-migrations smoke

help:
	@echo "make plan STACK=staging|prod   offline plan of a stack (no cloud account needed)"
	@echo "make policy STACK=staging|prod the CrossGuard pack's verdict on a stack (offline)"
	@echo "make test                      lint, type checks and every test (starts its own PostgreSQL)"
	@echo "make lint                      ruff and mypy only"
	@echo "make package ARCH=arm64|x86_64 build the migration Lambda zip (needed before pulumi up)"
	@echo "make bench-migrations          time applying 200 migrations (throwaway PostgreSQL)"
	@echo "make plan-diff BASE=<git ref>  markdown diff of every stack against BASE (PR comment)"
	@echo "make bench                     timings: plan per stack, the test suite, migrations"
	@echo "make smoke STACK=staging|prod  post-deploy checks of the live stack (SMOKE_ARGS=--markdown)"

$(BIN)/python:
	tools/install-system-deps
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

plan: install
	$(BIN)/python -m tools.plan $(STACK)

policy: install
	$(BIN)/python -m tools.policycheck $(STACK)

plan-diff: install
	$(BIN)/python -m tools.plandiff $(BASE)

bench: install
	$(BIN)/python -m tools.bench

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	tools/install-system-deps
	$(BIN)/pytest

package: install
	$(BIN)/python -m tools.lambda_package --arch $(ARCH) $(if $(RDS_CA_BUNDLE),--rds-ca-bundle $(RDS_CA_BUNDLE))

bench-migrations: install
	tools/install-system-deps
	$(BIN)/python -m migrations.bench

# Needs the pulumi CLI logged in to the stack's backend (it reads `pulumi stack output`).
smoke: install
	$(BIN)/python -m tools.smoke --stack $(STACK) $(SMOKE_ARGS)
