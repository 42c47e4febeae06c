# twilio-operator developer entry points. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
PYTEST_ARGS ?=

.PHONY: help venv controlplane openapi test test-unit lint fmt crds cluster cluster-down demo bench e2e clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP) ## create .venv and install the project with its dev/test extras

controlplane: ## build (or reuse) kube-apiserver, etcd and kubectl from their Go modules
	bash hack/controlplane/build.sh

openapi: ## fetch Twilio's OpenAPI documents for the contract tests (cached)
	bash hack/fetch-twilio-openapi.sh

test: venv controlplane openapi ## the whole suite: unit, component, contract, integration
	$(BIN)/pytest $(PYTEST_ARGS)

test-unit: venv ## only the tests that need no control plane
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

lint: venv ## ruff (lint and format check) and mypy --strict
	$(BIN)/ruff check operator tests hack bench
	$(BIN)/ruff format --check operator tests hack bench
	$(BIN)/mypy

fmt: venv ## apply ruff's formatting and fixes
	$(BIN)/ruff format operator tests hack bench
	$(BIN)/ruff check --fix operator tests hack bench

clean: ## remove the virtualenv and caches (not the Go caches)
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache
