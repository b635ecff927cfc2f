"""/healthz and the JSON log format."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest
from django.core.cache import cache, caches
from django.utils import timezone

from landscape.logging import JsonFormatter
from tests.conftest import REPO_ROOT
from tests.reliability.procs import app_env

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_redis_and_the_worker_heartbeat(client, settings):
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL (make test sets it)")
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]
    assert body["worker"] == {"last": None, "age_seconds": None, "stale": True}
    assert "no-cache" in response["Cache-Control"]

    cache.set("worker:heartbeat", timezone.now().isoformat(), None)
    worker = client.get("/healthz").json()["worker"]
    assert worker["stale"] is False and 0 <= worker["age_seconds"] < 60


def test_healthz_says_503_when_redis_does_not_answer(client, settings, monkeypatch):
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL (make test sets it)")
    monkeypatch.setattr(type(caches["default"]), "ping", lambda self: False)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["checks"]["redis"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True


def test_the_json_formatter_writes_one_parseable_object_per_record():
    record = logging.LogRecord(
        "projects.status", logging.WARNING, __file__, 1, "health of %s: %s", ("x", "ü"), None
    )
    record.repository = 42  # an extra={...} field
    record.request = object()  # Django's request objects are left out
    try:
        raise ValueError("boom")
    except ValueError:
        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "WARNING" and entry["logger"] == "projects.status"
    assert entry["message"] == "health of x: ü"
    assert entry["repository"] == 42 and "request" not in entry
    assert "ValueError: boom" in entry["exc_info"]
    assert entry["time"].endswith("+00:00")


def test_production_logs_are_json_lines():
    code = "import django, logging; django.setup(); logging.getLogger('x').warning('hello %s', 1)"
    env = app_env(DATABASE_URL="sqlite:///:memory:", REDIS_URL="")
    env.pop("LOG_FORMAT")  # the default without DEBUG
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert {"logger": "x", "level": "WARNING", "message": "hello 1"}.items() <= lines[-1].items()
