# twilio-operator developer entry points. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
PYTEST_ARGS ?=
CLUSTER_ARGS ?=

.PHONY: help venv controlplane openapi livekit demo-livekit test test-livekit test-reliability-strict smoke-twilio test-unit lint fmt crds settings-docs cluster cluster-down demo bench e2e e2e-kind node node-down node-status clean helm manifests argocd-cm lint-chart lint-docker test-packaging image lint-workflows chart-docs

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP) ## create .venv and install the project with its dev/test extras

controlplane: ## kube-apiserver, etcd, kubectl: envtest download, else Go build (CONTROLPLANE_SOURCE=build); kube-controller-manager: Go build
	bash hack/controlplane/build.sh

openapi: ## fetch Twilio's OpenAPI documents for the contract tests (cached)
	bash hack/fetch-twilio-openapi.sh

livekit: ## livekit-server from its Go module (into .cache/livekit/bin, or LIVEKIT_BIN) and Debian's redis-server, for the LiveKit tests
	bash hack/livekit/build.sh
	bash hack/livekit/install-redis.sh

test: venv controlplane openapi helm livekit ## the whole suite: unit, component, contract, integration, LiveKit, packaging
	$(BIN)/pytest $(PYTEST_ARGS)

test-livekit: venv livekit ## only the LiveKit tier: the LiveKit port against a real livekit-server
	$(BIN)/pytest tests/livekit_sip $(PYTEST_ARGS)

test-reliability-strict: venv controlplane openapi ## the reliability tier against the emulator's strict mode
	$(BIN)/pytest tests/reliability --emulator-strict $(PYTEST_ARGS)

test-unit: venv ## only the tests that need no control plane
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

lint: venv lint-workflows ## ruff (lint and format check), mypy --strict, the import contracts (.importlinter), dead code (vulture), actionlint
	$(BIN)/ruff check operator tests hack bench
	$(BIN)/ruff format --check operator tests hack bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/vulture

fmt: venv ## apply ruff's formatting and fixes
	$(BIN)/ruff format operator tests hack bench
	$(BIN)/ruff check --fix operator tests hack bench

crds: venv ## regenerate crds/ and the chart's crds/ from the pydantic models
	$(BIN)/twilio-operator crds --output-dir crds

settings-docs: venv ## regenerate the table of settings in docs/install.md from operator/twilio_operator/settings.py
	$(BIN)/python hack/render_settings_table.py

clean: ## remove the virtualenv and caches (not the Go caches)
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache

cluster: venv controlplane ## start etcd, kube-apiserver, kube-controller-manager in the background; last line = kubeconfig path (CLUSTER_ARGS=--without-controller-manager)
	@$(BIN)/python -m twilio_operator.testing.cluster_cli up $(CLUSTER_ARGS)

cluster-down: ## stop the control plane started by `make cluster` and remove its state
	@$(BIN)/python -m twilio_operator.testing.cluster_cli down

# ---- packaging: image, Helm chart, plain manifests, ArgoCD health checks, the local node, e2e
IMAGE ?= twilio-operator:dev

helm: ## build (or reuse) the helm CLI from its Go module into .cache/helm/bin
	bash hack/helm/build.sh

manifests: crds ## render deploy/install.yaml from the Helm chart (CRDs from `make crds`)
	bash hack/render-install.sh

chart-docs: ## render charts/twilio-operator/README.md from values.yaml with helm-docs (built into .cache/gotools/bin)
	bash hack/chart-docs.sh

lint-workflows: venv ## actionlint on .github/workflows (built from its Go module into .cache/gotools/bin), with shellcheck
	"$$(bash hack/gotools/build.sh actionlint | tail -n 1)" -shellcheck $(BIN)/shellcheck

argocd-cm: venv ## render argocd/argocd-cm.yaml from the Lua health checks in argocd/
	$(BIN)/python hack/render_argocd_cm.py

lint-chart: ## helm lint --strict of charts/twilio-operator
	"$$(bash hack/helm/build.sh | tail -n 1)" lint --strict charts/twilio-operator

lint-docker: venv ## lint the Dockerfile with hadolint
	$(BIN)/hadolint Dockerfile

test-packaging: venv controlplane ## chart, manifests, Dockerfile and ArgoCD health-check tests
	$(BIN)/pytest tests/packaging $(PYTEST_ARGS)

image: ## build the operator image: make image IMAGE=repo/name:tag (starts Debian's dockerd if none answers; base from Debian's packages when python:3.11-slim cannot be pulled)
	bash hack/image/build.sh $(IMAGE)

smoke-twilio: venv controlplane ## opt-in, costs a trunk create+delete: provider and number import against a REAL Twilio account (env TWILIO_ACCOUNT_SID + TWILIO_AUTH_TOKEN or TWILIO_API_KEY/TWILIO_API_SECRET; TWILIO_SMOKE_REGION=ie1 + TWILIO_SMOKE_PHONE_NUMBER for IE1; the steps that confirm issue 24's unconfirmed rows: docs/emulator.md, "Confirming the unconfirmed rows")
	$(BIN)/pytest tests/smoke -m smoke_twilio -rs $(PYTEST_ARGS)

node: venv ## a single-node cluster (kubelet, containerd) in a network namespace of its own; needs root; last line = kubeconfig
	bash hack/node/build.sh
	@$(BIN)/python -m twilio_operator.testing.node_cli up

node-down: venv ## complete teardown of `make node` (processes, mounts, cgroups, namespace); names each step and what failed
	@$(BIN)/python -m twilio_operator.testing.node_cli down

node-status: venv ## is `make node` running
	@$(BIN)/python -m twilio_operator.testing.node_cli status

e2e: venv helm ## end to end as a user runs it: the image, the chart via helm, on the local node (needs root; CI runs it)
	bash hack/node/build.sh
	$(BIN)/pytest tests/e2e -m e2e $(PYTEST_ARGS)

e2e-kind: venv ## the same on kind, for machines with Docker and registry access (needs a Docker daemon, kind and kubectl)
	@bash hack/e2e-preflight.sh
	$(BIN)/pytest tests/e2e -m kind $(PYTEST_ARGS)

demo: venv openapi $(if $(LIVEKIT),livekit) ## the operator end to end on this machine (control plane + emulator); KEEP=1 keeps it running, LIVEKIT=1 adds LiveKit
	bash hack/controlplane/build.sh etcd kube-apiserver kubectl
	$(BIN)/python hack/demo.py $(if $(KEEP),--keep) $(if $(LIVEKIT),--livekit)

demo-livekit: ## `make demo` with a real livekit-server: numbers reach their agents' dispatch rules, a rotation switches LiveKit first
	$(MAKE) demo LIVEKIT=1

# ---- benchmarks (not part of `make test`): BENCH_ARGS="--quick" or "--scenarios a,b --providers 20"
BENCH_ARGS ?=

bench: venv controlplane ## benchmarks (latency, Twilio calls, scale, idle cost, kopf floor, leader failover) -> bench/results/
	$(BIN)/python bench/run.py $(BENCH_ARGS)
