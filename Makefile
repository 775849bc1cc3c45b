# The project's verbs: run, test, load, bench. Each creates .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench
NODE_STAMP := node_modules/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# make run serves development unless told otherwise (`APP_ENV=production make run`), even
# over a .env file's APP_ENV; left unset, the server would start with a warning.
APP_ENV ?= development

.PHONY: run test lint speclint typecheck unit features smoke contract load bench clean browser-deps

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,load]"
	@touch $(STAMP)

# The benchmark's extras (FastAPI, matplotlib, py-spy) only for make bench.
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[test,load,bench]"
	@touch $(BENCH_STAMP)

run: $(STAMP)
	APP_ENV=$(APP_ENV) $(BIN)/auth-api --host $(HOST) --port $(PORT)

# Every step below, even after one fails, ending with `all: N passed, M failed` (tests/suite.py).
test: $(STAMP) browser-deps
	$(BIN)/python -m tests.suite

# Debian's Chromium and its driver for the real-browser tests (tests/e2e), installed only when
# missing; apt-get needs root, as on CI. Nothing is downloaded at test time.
browser-deps:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			chromium chromium-driver; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Redocly CLI (pinned in package.json and package-lock.json) with the rules in redocly.yaml.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $(NODE_STAMP)

speclint: $(NODE_STAMP)
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
		node_modules/.bin/redocly lint --config redocly.yaml openapi/auth.yaml

# mypy on authapi (strict), handlers, tooling, bench, loadtests and features: [tool.mypy] in pyproject.toml.
typecheck: $(STAMP)
	$(BIN)/mypy

# On every core (pytest-xdist): tests that share a server, or must not overlap, carry one
# xdist_group and run on one worker, one after another. Ends with the 20 slowest tests.
unit: $(STAMP)
	$(BIN)/pytest -n auto --dist loadgroup --durations=20 \
		--junitxml=build/test-results/pytest/pytest.xml

# Acceptance features against a real server; STORAGE_URL=... runs them on another backend.

features: $(STAMP)
	$(BIN)/behave --format progress --junit --junit-directory build/test-results/behave features

smoke: $(STAMP)
	$(BIN)/python -m loadtests.smoke

# Schemathesis against a fresh server: every operation, 1,000+ cases, stateful links followed;
# configuration and reasons in tests/contract/schemathesis.toml, report in build/contract/.
contract: $(STAMP)
	$(BIN)/python -m tests.contract

# The full profile against a server you started yourself, with test-grade bcrypt and no
# per-address or per-user write limit (every simulated user shares one address):
#   BCRYPT_ROUNDS=4 AUTH_RATE_LIMIT_PER_MINUTE=0 REGISTRATIONS_PER_ADDRESS_PER_DAY=0 \
#   TASK_WRITES_PER_MINUTE=0 make run      then      make load
load: $(STAMP)
	$(BIN)/locust --config loadtests/locust.conf --host http://$(HOST):$(PORT)

# The project against bare Starlette and FastAPI; results in build/bench/. Extra flags: BENCH_ARGS=...
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules build .pytest_cache .mypy_cache .ruff_cache .coverage
