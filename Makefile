PYTHON ?= python3
# One venv per Python version: `make test PYTHON=python3.13` builds and uses .venv-python3.13
# (any other PYTHON, python3 by default, uses .venv).
VENV ?= $(if $(filter python3.%,$(notdir $(PYTHON))),.venv-$(notdir $(PYTHON)),.venv)
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The SDK's binding tests target the Python Cloudflare runs (3.13), where one D1 test is not
# skipped; any other Python runs them too.
CONFORMANCE_PYTHON ?= $(shell python3.13 -c "" >/dev/null 2>&1 && echo python3.13 || echo $(PYTHON))

.PHONY: dev test lint format bench clean venv venv-locked conformance conformance-run

## create .venv and install pyflare (editable) with its test and dev tools
venv: $(STAMP)

# `make dev` and `make test` may start together in a fresh clone: the venv is created and
# installed under a lock, and the step checks again under the lock whether it is still to do.
# (The uninstall drops the distribution's old name, `pyflare`, from a venv made before 0.1.0.)
$(STAMP): pyproject.toml
	@$(PYTHON) tools/with_lock.py $(VENV).lock $(MAKE) --no-print-directory venv-locked

venv-locked:
	@if [ ! -f $(STAMP) ] || [ pyproject.toml -nt $(STAMP) ]; then \
		set -e; \
		[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV); \
		$(BIN)/python -m pip install --quiet --upgrade pip; \
		$(BIN)/python -m pip uninstall --quiet --yes pyflare 2>/dev/null || true; \
		$(BIN)/python -m pip install --quiet -e '.[test,dev]'; \
		touch $(STAMP); \
		echo "pyflare is installed in $(VENV): run it as $(BIN)/pyflare, or '. $(BIN)/activate' first"; \
	fi

## serve the seed's example worker at http://127.0.0.1:8787
dev: $(STAMP)
	$(BIN)/pyflare d1 migrations apply DB -c fixtures/ai-tasks/wrangler.toml
	$(BIN)/pyflare dev -c fixtures/ai-tasks/wrangler.toml

## run the whole test suite (unit, end-to-end and pytest-plugin tests)
test: $(STAMP)
	$(BIN)/python -m pytest -q

## run Cloudflare's Python Workers SDK binding tests (fetched from PyPI) against pyflare
conformance:
	@$(MAKE) --no-print-directory conformance-run PYTHON=$(CONFORMANCE_PYTHON)

conformance-run: $(STAMP)
	$(BIN)/python -m conformance

## ruff (lint and format) and mypy (strict, on the package; configured in pyproject.toml)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## run the benchmarks; prints a table of ratios and writes bench/results.json
bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf .venv .venv-* .venv.lock .pytest_cache .cache build dist *.egg-info
