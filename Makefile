# aftercare — developer commands.
#
#   make run     create .venv, install, migrate, serve http://127.0.0.1:5000 (SQLite)
#   make test    install the test extras, make sure Chromium is there, run pytest
#   make demo    migrate and load the demo clinic
#   make worker  send reminders as they fall due (development settings; Ctrl-C stops it)
#   make lint    ruff check + ruff format --check
#   make bench   HTTP benchmarks (wrk, gunicorn) and the first visit in Chromium (bench/README.md)
#   make clean   remove .venv, build files, caches and test artifacts (keeps instance/)
#
# Variables: PYTHON (default python3), PYTEST_ARGS (passed to pytest), BENCH_ARGS (passed to
# python -m bench.run, e.g. BENCH_ARGS="--duration 5 --only mood"),
# HOST / PORT for `make run`. AFTERCARE_* environment variables are honoured
# as usual (e.g. AFTERCARE_DATABASE_URL, AFTERCARE_TEST_DATABASE_URL).

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules --no-print-directory

PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?=
BENCH_ARGS ?=

VENV_CFG := $(VENV)/pyvenv.cfg
RUN_STAMP := $(VENV)/.aftercare-installed
TEST_STAMP := $(VENV)/.aftercare-installed-test
# Only AFTERCARE_ENV=development relaxes production's rules (the development key, plain-http cookies,
# the demo clinic); --debug adds the reloader and debugger for this machine.
FLASK := AFTERCARE_ENV=development $(VENV)/bin/flask --app aftercare --debug

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help run test demo worker lint bench migrate chromium wrk clean install install-test

help:
	@echo "aftercare — make targets:"
	@echo "  make run     install into .venv, migrate and serve http://$(HOST):$(PORT) (SQLite)"
	@echo "  make test    install test extras, check Chromium, run pytest (PYTEST_ARGS=...)"
	@echo "  make demo    migrate and load a demo clinic"
	@echo "  make worker  send reminders as they fall due (needs vapid generate first; see README)"
	@echo "  make lint    ruff check and ruff format --check"
	@echo "  make bench   HTTP benchmarks and the first visit, printed as a table (BENCH_ARGS=...)"
	@echo "  make clean   remove .venv, caches and test artifacts (keeps instance/)"

# --- virtual environment ----------------------------------------------------

$(VENV_CFG):
	@if ! $(PYTHON) -c 'import ensurepip, venv' >/dev/null 2>&1; then \
		echo "error: '$(PYTHON) -m venv' is not available." >&2; \
		echo "       On Debian/Ubuntu: apt-get install -y python3-venv" >&2; \
		exit 1; \
	fi
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)

# Re-installs only when pyproject.toml is newer than the stamp (or the venv is new).
$(RUN_STAMP): pyproject.toml $(VENV_CFG)
	@if [ -f $(TEST_STAMP) ] && [ $(TEST_STAMP) -nt pyproject.toml ] && [ $(TEST_STAMP) -nt $(VENV_CFG) ]; then \
		echo "(.venv already has aftercare with its test extras)"; \
	else \
		echo "$(VENV)/bin/python -m pip install -e ."; \
		$(VENV)/bin/python -m pip install --quiet -e .; \
	fi
	touch $@

$(TEST_STAMP): pyproject.toml $(VENV_CFG)
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(RUN_STAMP)
install-test: $(TEST_STAMP)

# --- development server ---------------------------------------------------------

migrate: $(RUN_STAMP)
	$(FLASK) db migrate

run: migrate
	$(FLASK) run --host $(HOST) --port $(PORT)

demo: migrate
	$(FLASK) demo

worker: migrate
	$(FLASK) reminders work

# --- tests ----------------------------------------------------------------------

# Debian's Chromium drives the browser tests (never `playwright install`: its CDN is
# not reachable and the tests point Playwright at the system browser).
chromium:
	@if [ -n "$${CHROMIUM_PATH:-}" ] && [ -x "$${CHROMIUM_PATH}" ]; then \
		exit 0; \
	elif command -v chromium >/dev/null 2>&1; then \
		exit 0; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "chromium is not installed: installing Debian's package"; \
		apt-get update; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-dejavu-core; \
		command -v chromium >/dev/null; \
	else \
		echo "error: the browser tests need Chromium, and 'chromium' is not on PATH." >&2; \
		echo "  Debian/Ubuntu:  sudo apt-get update && sudo apt-get install -y chromium" >&2; \
		echo "  elsewhere:      install Chromium and set CHROMIUM_PATH=/path/to/chromium" >&2; \
		echo "  (do not run 'playwright install': the tests use the system browser)" >&2; \
		exit 1; \
	fi

# pytest exit 5 ("no tests collected", e.g. a -k that matches nothing) is reported,
# not treated as a failure; every other non-zero exit fails.
test: $(TEST_STAMP) chromium
	@status=0; \
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS) || status=$$?; \
	if [ "$$status" = 5 ]; then \
		echo "make test: pytest collected no tests (exit 5)"; \
		exit 0; \
	fi; \
	exit "$$status"

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# --- benchmarks -----------------------------------------------------------------

wrk:
	@if ! command -v wrk >/dev/null 2>&1; then \
		echo "error: the benchmarks need wrk, and 'wrk' is not on PATH." >&2; \
		echo "  Debian/Ubuntu:  sudo apt-get update && sudo apt-get install -y wrk" >&2; \
		exit 1; \
	fi

# A few minutes; speed is measured here, never asserted in tests. Figures: bench/README.md.
bench: $(TEST_STAMP) chromium wrk
	$(VENV)/bin/python -m bench.run $(BENCH_ARGS)

# --- housekeeping -----------------------------------------------------------------

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .hypothesis test-artifacts test-results bench/results
	find . -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
