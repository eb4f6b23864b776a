# Two commands on a fresh machine: `make demo` and `make test`. Each sets itself up first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: setup build browser test test-unit demo lint format clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

build: setup
	$(PY) -m consortium.compiler

# The web pages' tests drive Debian's headless Chromium (as root: apt-get; nothing when present).
CHROMEDRIVER := /usr/bin/chromedriver
browser: $(CHROMEDRIVER)

$(CHROMEDRIVER):
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver

# two workers, a test file each at a time (module-scoped networks stay on one worker): the process
# tests mostly wait on block timers, so two cores run two files' waits at once (docs/testing.md)
test: build browser
	$(PY) -m pytest -n 2 --dist loadfile

# the fast, in-process tests (no node processes, no real timers): seconds, for the edit-test loop
test-unit: build
	$(PY) -m pytest -m "not process and not slow"

demo: build
	$(VENV)/bin/hubao demo

# ruff, then the layer contracts in pyproject.toml ([tool.importlinter]): a few seconds
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf build .pytest_cache .hypothesis .import_linter_cache
