# The two commands a newcomer needs: `make run` and `make test`.
# Each does its own set-up and is quick when nothing changed.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
STAMP := $(VENV)/.stamp
TEST_STAMP := $(VENV)/.test-stamp
BYTECODE := $(VENV)/.bytecode-stamp
CSS := theme/build/consult.css
PORT ?= 8000

.PHONY: test-postgresql run test test-future lint setup setup-test check build bench clean

HANDBOOK := .consult/handbook/index.html

run: setup $(HANDBOOK)
	$(VENV)/bin/consult serve --port $(PORT)

# The editors' handbook, built once (not on every rebuild) and mounted at /handbook/ by `consult serve`.
$(HANDBOOK): $(STAMP) $(shell find handbook -type f -not -path '*/__pycache__/*' 2>/dev/null) generator/reference.py generator/schema.py generator/config.py
	$(VENV)/bin/consult handbook --output .consult/handbook

# Lint and types first (seconds), then the whole suite at today's date, then again with the clock two years
# ahead (see "Dates" in the README), then every intake and GitHub test once more with the intake's store on
# PostgreSQL (a throwaway cluster the tests start; tests/engine.py).
test: setup-test
	@$(MAKE) --no-print-directory lint
	$(VENV)/bin/pytest -q
	@$(MAKE) --no-print-directory test-future
	@$(MAKE) --no-print-directory test-postgresql

test-postgresql: setup-test
	@echo "== The intake and GitHub tests again with the store on PostgreSQL: CONSULT_TEST_INTAKE_DATABASE=postgresql"
	CONSULT_TEST_INTAKE_DATABASE=postgresql $(VENV)/bin/pytest -q -p no:cacheprovider tests/intake tests/github

test-future: setup-test
	@echo "== The whole suite again with the clock two years ahead: CONSULT_NOW=+730d"
	CONSULT_NOW=+730d $(VENV)/bin/pytest -q -p no:cacheprovider

# ruff (lint and format, settings in pyproject.toml) over the product's code, its tests and benchmarks, and mypy over
# the product's code: zero findings.
lint: setup-test
	$(VENV)/bin/ruff check generator intake plugins tests benchmarks
	$(VENV)/bin/ruff format --check generator intake plugins tests benchmarks
	$(VENV)/bin/mypy

setup: $(STAMP) $(CSS) $(BYTECODE)

# Bytecode for the project's own modules, written even where PYTHONDONTWRITEBYTECODE is set (as on the development
# machine): each `consult` command then starts without compiling them (0.05-0.1 s). Made again when a module changes.
$(BYTECODE): $(STAMP) $(shell find generator intake plugins -name '*.py' -not -path '*/__pycache__/*' 2>/dev/null)
	@$(PY) -m compileall -q generator intake plugins >/dev/null
	@touch $@

$(VENV)/bin/python:
	python3 -m venv $(VENV)

$(STAMP): pyproject.toml $(VENV)/bin/python
	$(PIP) install -e '.[docs]'
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CSS): node_modules/.package-lock.json $(wildcard theme/scss/*.scss)
	npm run -s build:css

setup-test: setup $(TEST_STAMP)
	@command -v chromium >/dev/null || { echo "Installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || { echo "Could not install chromium: run 'apt-get install chromium' as root"; exit 1; }; }
	@command -v git >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq git >/dev/null; }
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { echo "Installing Debian's postgresql for the store tests (tests/postgres.py starts its own throwaway cluster)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
	  || { echo "Could not install postgresql: run 'apt-get install postgresql' as root"; exit 1; }; }

$(TEST_STAMP): pyproject.toml $(STAMP)
	$(PIP) install -e '.[test]'
	touch $@

check: setup
	$(VENV)/bin/consult check

build: setup
	$(VENV)/bin/consult build

# Benchmarks print figures; they assert nothing. SIZES=1000,10000,50000 for the full build table.
SIZES ?= 1000,10000
bench: setup-test
	@command -v hugo >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hugo >/dev/null; }
	$(PY) benchmarks/build.py --sizes $(SIZES)
	$(PY) benchmarks/intake.py
	$(PY) benchmarks/duplicates.py
	$(PY) benchmarks/github_surge.py
	$(PY) benchmarks/serve_memory.py

clean:
	rm -rf $(VENV) node_modules theme/build _site .consult
