"""Fixtures for the fault and load tests: throwaway servers, collected static files, and
the URL of the test database that subprocesses (gunicorn, celery) connect to."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.reliability.procs import ThrowawayPostgres, ThrowawayRedis, collectstatic


def test_database_url() -> str:
    """The database pytest-django created, for processes started by a transactional test."""
    from django.db import connection

    s = connection.settings_dict
    if s["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("the fault tests need PostgreSQL (make test sets DATABASE_URL)")
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


@pytest.fixture(scope="session")
def static_root():
    """Collected static files (DEBUG off serves their hashed names), once a session."""
    target = collectstatic(Path(tempfile.mkdtemp(prefix="rel-static-")))
    yield target
    shutil.rmtree(target, ignore_errors=True)


@pytest.fixture
def redis_server():
    server = ThrowawayRedis().start()
    yield server
    server.close()


@pytest.fixture
def postgres_server():
    server = ThrowawayPostgres().init()
    yield server
    server.close()
