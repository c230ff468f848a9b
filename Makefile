# Operational entry points for agora. `make` (or `make help`) lists the targets.
#
# `make run` is the project-local path: it starts a private Redis on
# $(AGORA_REDIS_PORT) with its data in .data/ and points agora at it, ignoring
# any REDIS_URL you exported. If you have your own Redis, skip make and run
#   REDIS_URL=redis://host:port cargo run --release -- serve
# directly.

SHELL := bash
.DEFAULT_GOAL := help

CARGO            ?= cargo
AGORA_REDIS_PORT ?= 6380
export AGORA_REDIS_PORT

VENV         := .tools/venv
OPENAPI_JSON ?= openapi/openapi.json
SDK_OUT      ?= .tools/sdk-check
LOCAL_REDIS_URL := redis://127.0.0.1:$(AGORA_REDIS_PORT)

# Imports every module of the generated client (httpx/attrs come with the generator).
SDK_IMPORT_CHECK := import importlib, pkgutil, agora_sdk; \
    mods = [m.name for m in pkgutil.walk_packages(agora_sdk.__path__, "agora_sdk.")]; \
    [importlib.import_module(m) for m in mods]; \
    print(f"sdk-check: client generated, compiled and imported ({len(mods)} modules)")

.PHONY: help run redis-stop test bench compose-check sdk-check lint openapi clean-data \
        ensure-redis ensure-pytools fuzz sdk-flow readme

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) \
	  | awk 'BEGIN {FS = ":.*## "}; {printf "  %-15s %s\n", $$1, $$2}'

run: ensure-redis ## Start a local Redis (.data/, port AGORA_REDIS_PORT=6380), seed it, serve
	scripts/local-redis.sh start
	REDIS_URL=$(LOCAL_REDIS_URL) $(CARGO) run --release -- seed
	REDIS_URL=$(LOCAL_REDIS_URL) $(CARGO) run --release -- serve

redis-stop: ## Stop the local Redis started by `make run`
	scripts/local-redis.sh stop

test: ensure-redis ensure-pytools ## Full suite, each phase named and timed, summary at the end (TEST_PHASES="..." picks some)
	@MAKE="$(MAKE)" scripts/test-phases.sh

readme: ensure-redis ## Run the README's curl walk-through on a live, freshly seeded service and check what it states
	scripts/build-debug.sh
	python3 scripts/readme_walkthrough.py

bench: ensure-redis ## Hot endpoints (wrk) next to redis-benchmark, round trips, memory; then the social figures
	@command -v wrk >/dev/null 2>&1 || scripts/apt-install.sh wrk
	$(CARGO) build --release --locked --bin agora --example bench --example social_bench
	target/release/examples/bench
	target/release/examples/social_bench
	$(MAKE) --no-print-directory bench-scale

.PHONY: bench-scale
bench-scale: ensure-redis ## Bytes per user at 100k users; balance of a 3+3 cluster (per-master memory, largest keys, heaviest slot)
	$(CARGO) build --release --locked --bin agora --example scale_bench
	target/release/examples/scale_bench

.PHONY: faults
faults: ensure-redis ## Fault tests alone, printing their error windows: kill -9 + restart, cluster failover
	@set -o pipefail; $(CARGO) test --locked --test faults -- --nocapture 2>&1 \
	  | grep -vE 'Waiting for redis process|waiting until .* knows'
	@set -o pipefail; AGORA_TEST_CLUSTER=1 $(CARGO) test --locked --test faults -- --nocapture 2>&1 \
	  | grep -vE 'Waiting for redis process|waiting until .* knows'

compose-check: ensure-pytools ## Validate docker-compose.yml against the compose spec
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml

sdk-check: ensure-pytools ## Generate a Python client from openapi/openapi.json; fail on any generator warning
	@test -f "$(OPENAPI_JSON)" || { echo "error: $(OPENAPI_JSON) not found (run: make openapi)" >&2; exit 1; }
	@rm -rf "$(SDK_OUT)" && mkdir -p "$(SDK_OUT)"; \
	log="$(SDK_OUT)/generate.log"; \
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/openapi-python-client generate \
	    --path "$(OPENAPI_JSON)" --output-path "$(SDK_OUT)/agora_sdk" --meta none --overwrite \
	    >"$$log" 2>&1; status=$$?; \
	if [ $$status -ne 0 ] || grep -qi 'warning' "$$log"; then \
	    echo "error: openapi-python-client could not generate everything from $(OPENAPI_JSON) (exit $$status):" >&2; \
	    cat "$$log" >&2; exit 1; \
	fi
	@$(VENV)/bin/python -m compileall -q "$(SDK_OUT)/agora_sdk"
	@cd "$(SDK_OUT)" && "$(CURDIR)/$(VENV)/bin/python" -c '$(SDK_IMPORT_CHECK)'

sdk-flow: sdk-check ## Generated Python client: register, log in, buy, check out on a live service; TypeScript types + tsc
	scripts/sdk-flow.sh

fuzz: ensure-redis ensure-pytools ## schemathesis on a live service from openapi/openapi.json (~3 min): no 5xx, schema/status/content-type conformance
	scripts/fuzz.sh

lint: ## rustfmt check and clippy with warnings denied
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --locked -- -D warnings

openapi: ## Regenerate openapi/openapi.json from the code
	@mkdir -p openapi
	$(CARGO) run --quiet -- openapi > openapi/openapi.json.tmp
	mv openapi/openapi.json.tmp openapi/openapi.json

clean-data: ## Stop the local Redis and delete .data/
	scripts/local-redis.sh stop
	rm -rf .data

ensure-redis:
	@scripts/ensure-redis.sh

ensure-pytools:
	@scripts/ensure-pytools.sh

# ---- RealWorld (Conduit) API: the official suites against live services ----------
.PHONY: realworld
realworld: ensure-redis ## Official RealWorld suites (Hurl 13 files, Postman via newman) on standalone Redis and on a 3+3 cluster
	$(CARGO) build --locked --bin agora
	scripts/ensure-realworld-tools.sh
	@for topology in standalone cluster; do \
	    dir=.tools/live-realworld-$$topology; cluster=0; \
	    if [ $$topology = cluster ]; then cluster=1; fi; \
	    url=$$(LIVE_DIR=$$dir LIVE_SEED=0 LIVE_CLUSTER=$$cluster scripts/live-service.sh start) || exit 1; \
	    scripts/realworld-suites.sh $$url; status=$$?; \
	    LIVE_DIR=$$dir scripts/live-service.sh stop; \
	    echo "==> realworld suites on $$topology: exit $$status"; \
	    if [ $$status != 0 ]; then exit $$status; fi; \
	done
