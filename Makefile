# The two commands that matter: `make run` (the directory on the embedded default) and
# `make test` (the whole suite on PostgreSQL and Redis).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Where `make run` serves: the start of every absolute link the site writes (landscape/site.py),
# unless the environment says otherwise (a proxy in front, another name).
SITE_URL ?= http://$(HOST):$(PORT)
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/landscape
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
PYTEST_ARGS ?=

.PHONY: install install-dev run test lint format system-deps services clean bench bench-refresh

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Stamps keyed on pyproject.toml: reinstall only when the dependencies change.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@export SITE_URL='$(SITE_URL)'; \
	if [ -n "$$REDIS_URL" ]; then \
	  echo "REDIS_URL is set: starting a Celery worker and beat beside the web server"; \
	  $(VENV)/bin/celery -A landscape worker -Q celery,refresh,links --loglevel=INFO --concurrency=2 & \
	  $(VENV)/bin/celery -A landscape beat --loglevel=INFO --schedule=var/celerybeat-schedule & \
	fi; \
	trap 'kill $$(jobs -p) 2>/dev/null' EXIT; \
	$(PY) manage.py runserver --noreload $(HOST):$(PORT)

# System packages the suite drives, from Debian when missing: Chromium for the browser tests,
# wrk for the load test and the benchmark's smoke test (tests/test_bench.py), nginx for the
# benchmark's static baseline. A test whose tool is missing is skipped, and says so; with
# SYSTEM_TOOLS_REQUIRED set (make bench), a tool that cannot be installed is an error.
SYSTEM_TOOLS ?= wrk nginx chromium
SYSTEM_TOOLS_REQUIRED ?=
system-deps:
	@missing=""; \
	for tool in $(SYSTEM_TOOLS); do \
	  command -v $$tool >/dev/null 2>&1 || [ -x /usr/sbin/$$tool ] || missing="$$missing $$tool"; \
	done; \
	if [ -z "$$missing" ]; then \
	  exit 0; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	elif [ -n "$(SYSTEM_TOOLS_REQUIRED)" ]; then \
	  echo "missing:$$missing (apt-get install$$missing)"; exit 1; \
	else \
	  echo "not installed:$$missing (apt-get install$$missing): the tests that drive them will be skipped"; \
	fi

services:
	@bash scripts/ensure_services.sh

test: install-dev system-deps services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
	  $(VENV)/bin/pytest $(PYTEST_ARGS)

# Benchmarks print numbers; they are not part of `make test`.
bench-refresh: install-dev services
	$(PY) -m bench.refresh_bench --repositories $${BENCH_REPOSITORIES:-10000} --latency 0.05

# The load benchmark end to end (issue 7): wrk and nginx from Debian when missing, a bench
# database of its own, synthetic data, gunicorn as in production, the table in bench/RESULTS.md.
BENCH_ENTRIES ?= 100000
BENCH_DURATION ?= 30
BENCH_ARGS ?=
bench: install-dev services
	@$(MAKE) --no-print-directory system-deps SYSTEM_TOOLS="wrk nginx" SYSTEM_TOOLS_REQUIRED=1
	$(PY) -m bench.run --entries $(BENCH_ENTRIES) --duration $(BENCH_DURATION) $(BENCH_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache
