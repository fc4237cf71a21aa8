PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

## serve the seed's example worker at http://127.0.0.1:8787
dev: $(STAMP)
	$(BIN)/pyflare d1 migrations apply DB -c fixtures/ai-tasks/wrangler.toml
	$(BIN)/pyflare dev -c fixtures/ai-tasks/wrangler.toml

## run the whole test suite (unit, end-to-end and pytest-plugin tests)
test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## run the benchmarks; prints a table of ratios and writes bench/results.json
bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
