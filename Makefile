# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
# checkov pins many packages of its own: it lives in a virtual environment of its own.
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)
# schemathesis pins many packages too: `make fuzz` runs it from a virtual environment of its own.
SCHEMATHESIS_VERSION := 4.32.5
SCHEMATHESIS_VENV := .venv-schemathesis
SCHEMATHESIS_STAMP := $(SCHEMATHESIS_VENV)/.installed-$(SCHEMATHESIS_VERSION)
FUZZ_EXAMPLES ?= 30
FUZZ_SEED ?= 1
# openapi-python-client pins packages of its own too: tests/unit/test_generated_client.py runs it,
# and the mypy of constraints.txt on what it generates, from a virtual environment of their own.
CLIENT_GENERATOR_VERSION := 0.29.1
CLIENT_GENERATOR_PINS := $(shell grep -E '^(mypy|python-dateutil)==' constraints.txt) types-python-dateutil==2.9.0.20261116
CLIENT_GENERATOR_VENV := .venv-openapi-client
CLIENT_GENERATOR_STAMP := $(CLIENT_GENERATOR_VENV)/.installed-$(CLIENT_GENERATOR_VERSION)
# The OpenAPI document's linters (npm packages, exact versions) live in .tools.
SPECTRAL_VERSION := 6.16.3
REDOCLY_VERSION := 2.77.0
TOOLS := .tools
TOOLS_STAMP := $(TOOLS)/.installed-spectral-$(SPECTRAL_VERSION)-redocly-$(REDOCLY_VERSION)
OPENAPI_JSON := shared/chat_sessions/openapi.json
# make test lints the document where npm is, and always in CI (CI=true).
LINT_OPENAPI_IN_TEST := $(if $(or $(CI),$(shell command -v npm)),lint-openapi)
# sam build wants python3.11 on the PATH; the virtual environment's interpreter serves.
export PATH := $(BIN):$(PATH)
export SAM_CLI_TELEMETRY := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

PORT ?= 3000
DYNAMODB_PORT ?= 8000
SUB ?= local-user
FN ?= SessionsFunction
EVENT ?= events/sessions_get.json
STACK ?= dev
CHAOS_REQUESTS ?= 5000
CHAOS_CLIENTS ?= 50
CHAOS_SESSIONS ?= 20
CHAOS_CALLERS ?= 10
CHAOS_SEED ?= 1

# A recipe for a tool's stamp ($@): $(call tool_venv,DIR,PACKAGE==VERSION) makes DIR afresh, a
# virtual environment with only that package (and what it pins).
define tool_venv
	rm -rf $(1)
	$(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install --quiet --upgrade pip
	$(1)/bin/python -m pip install --quiet $(2)
	touch $@
endef

.PHONY: help venv build test lint typecheck validate checkov unit run invoke token bench chaos fuzz hostile deploy openapi clean lint-openapi client-generator

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# $(call quietly,COMMAND): run COMMAND with its output held back, shown only if it fails.
quietly = out=$$($(1) 2>&1) || { status=$$?; printf '%s\n' "$$out" >&2; exit $$status; }

$(STAMP): requirements-dev.txt shared/requirements.txt constraints.txt
	@test -x $(BIN)/python || { echo "==> creating the virtual environment $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "==> installing the pinned dependencies into $(VENV) (a few minutes the first time)"
	@$(call quietly,$(BIN)/python -m pip install --upgrade pip)
	@$(call quietly,$(BIN)/python -m pip install -r requirements-dev.txt -c constraints.txt)
	@touch $(STAMP)

# The client (clients/python) is installed editable by requirements-dev.txt: its metadata counts.
$(STAMP): clients/python/pyproject.toml

venv: $(STAMP) ## create .venv and install the pinned dependencies

build: $(STAMP) ## sam build (no container); its output is shown only if it fails
	@echo "==> building the functions into .aws-sam/build (sam build)"
	@$(call quietly,$(BIN)/sam build --cached --parallel)

lint: $(STAMP) ## ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP) ## mypy
	$(BIN)/mypy
	MYPYPATH=clients/python/src:clients/python/tests $(BIN)/mypy clients/python/src clients/python/tests

validate: $(STAMP) ## sam validate --lint
	$(BIN)/sam validate --lint

$(CHECKOV_STAMP):
	$(call tool_venv,$(CHECKOV_VENV),checkov==$(CHECKOV_VERSION))

checkov: $(CHECKOV_STAMP) ## checkov on template.yaml: no failed check (skips carry their reason)
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --framework cloudformation \
		--file template.yaml --skip-download

test: lint typecheck validate checkov $(LINT_OPENAPI_IN_TEST) build $(CLIENT_GENERATOR_STAMP) ## lint, type checks, template and OpenAPI checks and every test
	$(if $(LINT_OPENAPI_IN_TEST),,@echo "==> skipped make lint-openapi: it needs Node.js and npm")
	$(BIN)/python -m pytest
	$(BIN)/python -m pytest clients/python/tests

openapi: $(STAMP) ## regenerate shared/chat_sessions/openapi.json
	PYTHONPATH=shared $(BIN)/python -m chat_sessions.openapi > $(OPENAPI_JSON)

$(TOOLS_STAMP):
	@echo "==> installing Spectral $(SPECTRAL_VERSION) and Redocly CLI $(REDOCLY_VERSION) into $(TOOLS) (npm)"
	@rm -rf $(TOOLS)
	@$(call quietly,npm install --prefix $(TOOLS) --save-exact --no-audit --no-fund --ignore-scripts \
		@stoplight/spectral-cli@$(SPECTRAL_VERSION) @redocly/cli@$(REDOCLY_VERSION))
	@touch $@

lint-openapi: $(TOOLS_STAMP) ## Spectral (spectral:oas) and Redocly (recommended) on openapi.json: no error, no warning
	@$(call quietly,$(TOOLS)/node_modules/.bin/spectral lint --ruleset .spectral.yaml --fail-severity=warn $(OPENAPI_JSON))
	@$(call quietly,env REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
		$(TOOLS)/node_modules/.bin/redocly lint --config redocly.yaml $(OPENAPI_JSON))
	@echo "Spectral and Redocly: no error and no warning in $(OPENAPI_JSON)"

$(CLIENT_GENERATOR_STAMP): constraints.txt
	$(call tool_venv,$(CLIENT_GENERATOR_VENV),openapi-python-client==$(CLIENT_GENERATOR_VERSION) $(CLIENT_GENERATOR_PINS))

client-generator: $(CLIENT_GENERATOR_STAMP) ## openapi-python-client (and mypy) in .venv-openapi-client, for the generated-client test

run: build ## serve the API on 127.0.0.1:$(PORT) until Ctrl-C
	@exec $(BIN)/python -m local.server --port $(PORT) --dynamodb-port $(DYNAMODB_PORT)

invoke: build ## run FN once with EVENT through the emulator: make invoke FN=SessionsFunction EVENT=events/x.json
	$(BIN)/python -m local.invoke $(FN) $(EVENT) --dynamodb-port $(DYNAMODB_PORT)

token: $(STAMP) ## print a local token: make token SUB=alice
	@$(BIN)/python -m local.token $(SUB)

bench: build ## run the benchmarks and write bench/results/latest.md
	PYTHONPATH=shared $(BIN)/python -m bench

chaos: build ## mixed workload under DynamoDB faults, then the table's invariants (CHAOS_REQUESTS=500, CHAOS_FAULTS=none)
	PYTHONPATH=shared $(BIN)/python -m local.chaos --requests $(CHAOS_REQUESTS) --clients $(CHAOS_CLIENTS) \
		--sessions $(CHAOS_SESSIONS) --callers $(CHAOS_CALLERS) --seed $(CHAOS_SEED) \
		$(if $(CHAOS_FAULTS),--faults '$(CHAOS_FAULTS)')

$(SCHEMATHESIS_STAMP):
	$(call tool_venv,$(SCHEMATHESIS_VENV),schemathesis==$(SCHEMATHESIS_VERSION))

hostile: build ## about 150 hostile requests: documented status and envelope, no 5xx, nothing written
	PYTHONPATH=shared $(BIN)/python -m local.hostile

fuzz: build $(SCHEMATHESIS_STAMP) ## schemathesis, every check, against GET /openapi.json of a fresh local stack (FUZZ_EXAMPLES=30)
	PYTHONPATH=shared $(BIN)/python -m local.fuzz -- \
		env SCHEMATHESIS_HOOKS=local.fuzz_hooks $(SCHEMATHESIS_VENV)/bin/st \
		--config-file local/schemathesis.toml run '{url}/openapi.json' --url '{url}' \
		--checks all --exclude-checks unsupported_method \
		--max-examples $(FUZZ_EXAMPLES) --seed $(FUZZ_SEED) --workers 1 --no-color

deploy: build ## sam deploy --config-env $(STACK) (needs AWS credentials)
	$(BIN)/sam deploy --config-env $(STACK)

clean: ## remove build output and the virtual environment
	rm -rf .aws-sam $(VENV) .venv-lambda $(CHECKOV_VENV) $(SCHEMATHESIS_VENV) .schemathesis \
		$(CLIENT_GENERATOR_VENV) $(TOOLS)
