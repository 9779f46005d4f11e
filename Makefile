# webstack — the two commands a newcomer needs: `make plan STACK=staging` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# uv installs .venv from uv.lock. It is bootstrapped with pip into a venv of its own (not
# `pip install --user`): no write outside the checkout, no clash with a uv the user already has,
# and its version and hashes come from the lock (tools/uv-requirements.txt).
TOOLS  := .venv-tools
UV     := $(TOOLS)/bin/uv
STACK  ?= staging
ARCH   ?= arm64
BASE   ?= main
export PYTHONPATH := $(CURDIR)
export PYTHONWARNINGS := ignore::DeprecationWarning
# No uv-managed Python downloads: .venv uses $(PYTHON), like the policy pack and the tooling.
export UV_PYTHON_DOWNLOADS := never

.PHONY: help install lock plan plan-diff policy lint test bench package bench-migrations checkov \
	checkov-test smoke docs diagram

help:
	@echo "make plan STACK=staging|prod   offline plan of a stack (no cloud account needed);"
	@echo "                               STACK=pr-<n>: a PR's preview (docs/previews.md)"
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
	@echo "make lock                      re-resolve uv.lock after editing pyproject.toml"

$(UV): tools/uv-requirements.txt
	tools/install-system-deps
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --require-hashes --no-deps -r tools/uv-requirements.txt
	touch $@

# Always run: `uv sync --locked` takes well under a second when .venv already matches the lock,
# fails when uv.lock is stale against pyproject.toml, and removes what the lock does not name.
install: $(UV)
	$(UV) sync --locked --quiet --python $(PYTHON)

lock: $(UV)
	$(UV) lock
	$(UV) sync --locked --quiet --python $(PYTHON)
	$(BIN)/python -m tools.lockfiles

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

# Every core (pytest-xdist). worksteal: an idle worker takes queued tests from a busy one,
# so the few long tests (plan-diff end to end) do not leave a core idle at the end.
test: lint
	tools/install-system-deps
	$(BIN)/pytest -n auto --dist worksteal

package: install
	$(BIN)/python -m tools.lambda_package --arch $(ARCH) $(if $(RDS_CA_BUNDLE),--rds-ca-bundle $(RDS_CA_BUNDLE))

bench-migrations: install
	tools/install-system-deps
	$(BIN)/python -m migrations.bench

# Checkov lives in its own locked environment (tools/checkov/uv.lock): its pins conflict with
# the program's. Only these two targets install it.
CHECKOV_ENV := tools/checkov
CHECKOV     := $(CURDIR)/$(CHECKOV_ENV)/.venv/bin/checkov

$(CHECKOV): $(CHECKOV_ENV)/pyproject.toml $(CHECKOV_ENV)/uv.lock | $(UV)
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
