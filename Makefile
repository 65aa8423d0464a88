# Kracht: `make run` serves the demo (API and dashboards), `make test` runs the suite. Everything lives in .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
DASHBOARDS_PORT ?= 8866

.PHONY: run test lint bench fuzz clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Kracht needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/kracht db upgrade
	$(BIN)/kracht demo seed
	KRACHT_PUBLIC_URL=$${KRACHT_PUBLIC_URL:-http://$(HOST):$(PORT)} $(BIN)/kracht serve --host $(HOST) --port $(PORT) \
		--dashboards-port $(DASHBOARDS_PORT)

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

fuzz: $(VENV)/.installed-dev
	KRACHT_FUZZ_EXAMPLES=$${KRACHT_FUZZ_EXAMPLES:-200} $(BIN)/python -m pytest tests/test_fuzzing.py -q

bench: $(VENV)/.installed-dev
	bash scripts/system-prerequisites
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
