# The project's verbs: run, test, load, bench. Each creates .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck unit features smoke load clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/auth-api --host $(HOST) --port $(PORT)

test: lint typecheck unit features smoke

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

# Acceptance features against a real server; STORAGE_URL=... runs them on another backend.

features: $(STAMP)
	$(BIN)/behave --format progress features

smoke: $(STAMP)
	$(BIN)/python -m loadtests.smoke

# The full profile against a server you started yourself (make run): HOST=... PORT=...
load: $(STAMP)
	$(BIN)/locust --config loadtests/locust.conf --host http://$(HOST):$(PORT)

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache .coverage
