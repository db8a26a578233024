# Single entry point. `make help` lists targets. Tools come from .tools/ (links into the cache
# that testbed/toolchain.sh fills), so nothing here depends on what happens to be installed.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
export PATH := $(CURDIR)/.tools/venv/bin:$(CURDIR)/.tools/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
PYTEST ?= pytest

.PHONY: help toolchain cluster-up cluster-down crds kafka-up kafka-down testbed-up testbed-down \
        lint sanity unit integration test bench-testbed clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

toolchain:  ## install/build every pinned tool into the cache (seconds when warm)
	@bash testbed/toolchain.sh

cluster-up: ## start (or reuse) the local Kubernetes test bed
	@bash testbed/cluster.sh up
cluster-down: ## stop the local Kubernetes test bed
	@bash testbed/cluster.sh down
crds:  ## apply the platform CRDs (cert-manager, Dapr, prometheus-operator, Traefik, Gateway API)
	@bash testbed/crds.sh apply
kafka-up:  ## start (or reuse) the local Kafka broker
	@bash testbed/kafka.sh up
kafka-down:  ## stop the local Kafka broker
	@bash testbed/kafka.sh down
testbed-up: cluster-up kafka-up  ## both
testbed-down: cluster-down kafka-down  ## both

lint:  ## ruff, yamllint, ansible-lint (production profile), actionlint
	ruff check .
	ruff format --check .
	yamllint -s .
	ansible-lint --profile production
	@if ls .github/workflows/*.yml >/dev/null 2>&1; then actionlint; fi

sanity:  ## ansible-test sanity on the plugins (empty ignore file)
	@bash testbed/sanity.sh

unit:  ## pytest unit tests
	@bash testbed/pytest-tier.sh tests/unit

integration:  ## pytest integration tests on the real test bed (starts what it needs)
	@bash testbed/pytest-tier.sh tests/integration

test: toolchain lint sanity unit integration  ## everything CI runs: the README's test command

bench-testbed:  ## measure toolchain, cluster-up and kafka-up times
	@python3 testbed/bench_testbed.py

clean:  ## stop the test bed and remove local state (the tool cache stays)
	-@bash testbed/cluster.sh down
	-@bash testbed/kafka.sh down
	rm -rf .testbed tests/output
