# agentq: `make run` (embedded API on :3100), `make test` (everything CI runs).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint unit integration e2e format run-distributed migrate clean bench soak
.PHONY: openapi-lint

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Run the embedded default: one process, API on :3100, SQLite in .agentq/.
run: $(STAMP)
	$(BIN)/python -m service.migrate
	$(BIN)/python -m api

## Run the distributed stack (needs AGENTQ_DATABASE_URL, AGENTQ_BROKER_URL, AGENTQ_REDIS_URL).
run-distributed: migrate
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho start -f Procfile web worker-commands worker-webhooks worker-bulk scheduler

migrate: $(STAMP)
	$(BIN)/python -m service.migrate

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Everything: lint, unit, integration and end-to-end (both stacks).
test: lint
	$(BIN)/pytest

unit: $(STAMP)
	$(BIN)/pytest tests/unit

integration: $(STAMP)
	$(BIN)/pytest tests/integration

e2e: $(STAMP)
	$(BIN)/pytest tests/e2e

clean:
	rm -rf .agentq .pytest_cache .mypy_cache .ruff_cache

## The benchmark (tests/benchmarks/bench.py) on the distributed stack: JSON on stdout, a
## table on stderr, bench-results.json. BENCH_SCALE=0.1 for a quick run.
bench: $(STAMP)
	@$(BIN)/python -m tests.benchmarks.bench

## The large versions of the randomized race, shutdown and fault tests (100,000 operations;
## 50 worker kills and 5 outages of each service).
soak: $(STAMP)
	AGENTQ_SOAK=1 $(BIN)/pytest --timeout 3600 tests/integration/test_races.py tests/integration/test_graceful_shutdown.py tests/faults

## The Node linters of the OpenAPI document (package.json, pinned in package-lock.json).
## Install scripts are not run: none of the linters needs one, and one dependency's only
## script reports the download to an analytics service.
NODE_STAMP := node_modules/.installed
$(NODE_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

## The served OpenAPI document (built in-process) through Redocly (recommended rules),
## Spectral (spectral:oas) and openapi-python-client: the figures by rule. Exits 0 whatever
## they find (tests/e2e/test_openapi_lint.py is the gate); the document is build/openapi.json.
openapi-lint: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m tests.openapi_lint build/openapi.json
