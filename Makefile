# webstack — the two commands a newcomer needs: `make plan STACK=staging` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STACK  ?= staging
ARCH   ?= arm64
BASE   ?= main
export PYTHONPATH := $(CURDIR)
export PYTHONWARNINGS := ignore::DeprecationWarning

.PHONY: help install plan plan-diff policy lint test bench package bench-migrations checkov \
	checkov-test smoke docs diagram

help:
	@echo "make plan STACK=staging|prod   offline plan of a stack (no cloud account needed)"
	@echo "make policy STACK=staging|prod the CrossGuard pack's verdict on a stack (offline)"
	@echo "make test                      lint, type checks and every test (starts its own PostgreSQL)"
	@echo "make lint                      ruff and mypy only"
	@echo "make package ARCH=arm64|x86_64 build the migration Lambda zip (needed before pulumi up)"
	@echo "make bench-migrations          time applying 200 migrations (throwaway PostgreSQL)"
	@echo "make plan-diff BASE=<git ref>  markdown diff of every stack against BASE (PR comment)"
	@echo "make bench                     timings: plan per stack, the test suite, migrations"
	@echo "make checkov [STACK=prod]      Checkov's AWS checks on every stack (or one), skips applied"
	@echo "make checkov-test              the converter's tests against the real Checkov"
	@echo "make smoke STACK=staging|prod  post-deploy checks of the live stack (SMOKE_ARGS=--markdown)"
	@echo "make docs                      regenerate docs/: configuration, alarm runbook, diagrams"
	@echo "make diagram                   regenerate only the diagrams (docs/diagrams, Graphviz)"

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

# Graphviz (`dot`) renders the diagrams' SVGs; tools/install-system-deps installs it.
docs: install
	tools/install-system-deps
	$(BIN)/python -m tools.docs

diagram: install
	tools/install-system-deps
	$(BIN)/python -m tools.docs --only diagrams

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

# Checkov lives in its own locked environment (tools/checkov/uv.lock): its pins conflict with
# the program's. Only these two targets install it.
CHECKOV_ENV := tools/checkov
CHECKOV     := $(CURDIR)/$(CHECKOV_ENV)/.venv/bin/checkov
UV          ?= $(BIN)/uv

$(BIN)/uv: $(BIN)/python
	$(BIN)/pip install --quiet uv

$(CHECKOV): $(CHECKOV_ENV)/pyproject.toml $(CHECKOV_ENV)/uv.lock | $(BIN)/uv
	$(UV) sync --quiet --project $(CHECKOV_ENV) --locked --python $(PYTHON)
	touch $@

checkov: install $(CHECKOV)
	CHECKOV=$(CHECKOV) $(BIN)/python -m tools.checkov \
		$(if $(filter command line environment,$(origin STACK)),$(STACK))

checkov-test: install $(CHECKOV)
	CHECKOV=$(CHECKOV) $(BIN)/pytest tests/checkov

# Needs the pulumi CLI logged in to the stack's backend (it reads `pulumi stack output`).
smoke: install
	$(BIN)/python -m tools.smoke --stack $(STACK) $(SMOKE_ARGS)
