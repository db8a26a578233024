# Single entry point. `make help` lists targets. Tools come from .tools/ (links into the cache
# that testbed/toolchain.sh fills), so nothing here depends on what happens to be installed.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
export PATH := $(CURDIR)/.tools/venv/bin:$(CURDIR)/.tools/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
PYTEST ?= pytest

.PHONY: integration-real images help toolchain cluster-up cluster-down crds kafka-up kafka-down chart-repo-up chart-repo-down \
        testbed-up testbed-down secrets-scan lint chart-lint sanity unit integration integration-tiers test \
        bench-testbed ee-context ee demo clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

toolchain:  ## install/build every pinned tool into the cache (seconds when warm); TOOLS="venv helm" for some
	@bash testbed/toolchain.sh $(TOOLS)

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
chart-repo-up:  ## serve the local chart repository (air-gapped platform charts)
	@python testbed/chart_repo.py up
chart-repo-down:  ## stop serving it
	@python testbed/chart_repo.py down
testbed-up: cluster-up kafka-up chart-repo-up  ## all three
testbed-down: cluster-down kafka-down chart-repo-down  ## all three

secrets-scan:  ## gitleaks over the whole git history (.gitleaks.toml); SCAN=<repo> scans another repository
	gitleaks git --config $(CURDIR)/.gitleaks.toml --redact --no-banner $(or $(SCAN),.)

lint:  ## ruff, yamllint, ansible-lint (production profile), actionlint
	ruff check .
	ruff format --check .
	yamllint -s .
	ansible-lint --profile production
	@if ls .github/workflows/*.yml >/dev/null 2>&1; then actionlint; fi

# The environment values leave global.imageTag empty on purpose (each release sets it; the schema
# rejects an empty tag), so lint gives one.
chart-lint:  ## helm lint --strict of chart/ with the default, staging and production values
	helm lint --strict chart
	helm lint --strict chart -f chart/values-staging.yaml --set global.imageTag=v0.0.0-lint
	helm lint --strict chart -f chart/values-production.yaml --set global.imageTag=v0.0.0-lint

sanity:  ## ansible-test sanity on the plugins (empty ignore file)
	@bash testbed/sanity.sh

unit:  ## pytest unit tests
	@bash testbed/pytest-tier.sh tests/unit

integration:  ## pytest integration tests on the test bed with kwok nodes (starts what it needs)
	@bash testbed/pytest-tier.sh tests/integration --ignore=tests/integration/real_nodes

integration-real: export HTD_NODES_MODE := real
integration-real:  ## pytest integration tests on real nodes: containers run (starts what it needs)
	@bash testbed/pytest-tier.sh tests/integration/real_nodes

# What `make test` runs: both tiers at the same time, each on a bed of its own (the kwok one on
# .testbed/kwok-tier and other ports); lines prefixed [kwok] / [real], logs in tests/output/tiers.
integration-tiers:  ## both integration tiers at once, on two beds (what `make test` runs)
	@bash testbed/integration-tiers.sh

TAG ?= v1.0.0
images:  ## build the app stand-in's five images for TAG and push them to the real-node bed's registry
	@python testbed/images/build.py app --tag $(TAG)

DEMO_TAG ?= v1.0.0
# Real nodes: the app's pods run, from the bed's registry, and the smoke checks run against them.
demo: export HTD_NODES_MODE := real
demo: toolchain  ## the main job on the local default: bootstrap.yml + images + release.yml, then the reports
	ansible-playbook bootstrap.yml
	@$(MAKE) --no-print-directory images TAG=$(DEMO_TAG)
	ansible-playbook release.yml -e image_tag=$(DEMO_TAG)
	@cat reports/release-staging.md reports/release-production.md

test: toolchain secrets-scan lint chart-lint sanity unit integration-tiers  ## everything CI runs: the README's test command

ee-context:  ## render the execution environment's build context into build/ee/context (offline)
	@bash ee/build.sh context
ee:  ## build the execution environment image (podman or docker; needs the internet)
	@bash ee/build.sh build

bench-testbed:  ## measure toolchain, cluster-up (kwok and real nodes), kafka-up, images, release on real nodes
	@python3 testbed/bench_testbed.py

clean:  ## stop the test bed and remove local state (the tool cache stays)
	-@bash testbed/cluster.sh down
	-@bash testbed/kafka.sh down
	-@python testbed/chart_repo.py down
	rm -rf .testbed tests/output build
