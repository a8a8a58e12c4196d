# agentq: `make run` (embedded API on :3100), `make test` (everything CI runs).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check
# Installed from the lock files in requirements/ (written by `make lock`, from pyproject.toml):
# `make run` needs only the runtime part, `make test` adds the dev part to the same venv. Each
# stamp is redone only when its lock (or pyproject.toml, for the project itself) changes.
RUNTIME := $(VENV)/.runtime-installed
DEV := $(VENV)/.dev-installed

.PHONY: run test lint unit integration e2e format run-distributed migrate clean bench soak lock
.PHONY: openapi-lint browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUNTIME): requirements/pip.txt requirements/runtime.txt pyproject.toml | $(BIN)/python
	$(PIP) install --quiet --require-hashes -r requirements/pip.txt
	$(PIP) install --quiet --require-hashes -r requirements/runtime.txt
	$(PIP) install --quiet --no-deps -e .
	touch $@

# The SDK (sdk/, distribution agentq-client) is installed editable too: its dependencies are
# the runtime lock's, and the tests and examples import it.
$(DEV): $(RUNTIME) requirements/dev.txt sdk/pyproject.toml
	$(PIP) install --quiet --require-hashes -r requirements/dev.txt
	$(PIP) install --quiet --no-deps -e ./sdk
	touch $@

## Rewrite the lock files from pyproject.toml with uv (itself pinned in requirements/uv.txt),
## keeping the pins that still fit; `make lock UPGRADE=1` moves every pin to the newest release
## pyproject.toml allows. Then commit requirements/.
LOCK = $(BIN)/uv pip compile --quiet --universal --generate-hashes \
	--custom-compile-command 'make lock' $(if $(UPGRADE),--upgrade)
lock: | $(BIN)/python
	$(PIP) install --quiet --require-hashes -r requirements/uv.txt
	echo pip | $(LOCK) - -o requirements/pip.txt
	echo uv | $(LOCK) - -o requirements/uv.txt
	$(LOCK) pyproject.toml -o requirements/runtime.txt
	$(LOCK) pyproject.toml --extra dev -c requirements/runtime.txt -o requirements/dev.txt

## Run the embedded default: one process, API on :3100, SQLite in .agentq/.
run: $(RUNTIME)
	$(BIN)/python -m service.migrate
	$(BIN)/python -m api

## Run the distributed stack (needs AGENTQ_DATABASE_URL, AGENTQ_BROKER_URL, AGENTQ_REDIS_URL).
run-distributed: migrate
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho start -f Procfile web worker-commands worker-webhooks worker-bulk scheduler

migrate: $(RUNTIME)
	$(BIN)/python -m service.migrate

lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(DEV)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Everything: lint, unit, integration and end-to-end (both stacks).
test: lint browser
	$(BIN)/pytest

unit: $(DEV)
	$(BIN)/pytest tests/unit

integration: $(DEV)
	$(BIN)/pytest tests/integration

e2e: $(DEV) browser
	$(BIN)/pytest tests/e2e

## Debian's Chromium and its chromedriver, for the console's browser tests
## (tests/e2e/test_console_*.py), installed when missing: a browser from the distribution's
## packages, never one a tool downloads. Needs root (CI runs as root); without it the step
## says what to install, and the browser tests skip (under CI=true they fail instead).
BROWSER_PACKAGES := chromium chromium-driver
APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(BROWSER_PACKAGES)
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
	  echo "make browser: not root; install $(BROWSER_PACKAGES) for the browser tests"; exit 0; \
	fi; \
	$(APT_INSTALL) >/dev/null || { apt-get update -q >/dev/null && $(APT_INSTALL) >/dev/null; }

clean:
	rm -rf .agentq .pytest_cache .mypy_cache .ruff_cache

## The benchmark (tests/benchmarks/bench.py) on the distributed stack: JSON on stdout, a
## table on stderr, bench-results.json. BENCH_SCALE=0.1 for a quick run.
bench: $(DEV)
	@$(BIN)/python -m tests.benchmarks.bench

## The large versions of the randomized race, shutdown and fault tests (100,000 operations;
## 50 worker kills and 5 outages of each service); and tests/soak/ (collected only under
## AGENTQ_SOAK=1): a node of a three-node RabbitMQ cluster of its own (aqc1-3@localhost on
## ports 5701-5703, never the machine's rabbit@localhost) killed with SIGKILL under load.
soak: $(DEV)
	AGENTQ_SOAK=1 $(BIN)/pytest --timeout 3600 tests/integration/test_races.py tests/integration/test_graceful_shutdown.py tests/faults \
		tests/soak

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
openapi-lint: $(DEV) $(NODE_STAMP)
	$(BIN)/python -m tests.openapi_lint build/openapi.json
