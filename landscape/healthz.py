"""``/healthz``: may this process serve? Used by the docker-compose healthchecks and by load
balancers.

200 when the database and the shared cache answer (Redis, or under ``make run`` without
Redis the database cache: ``cache``), 503 when either does not, with JSON details either
way. Wherever tasks go to a worker, the age of its last heartbeat (``worker:heartbeat``,
written by the refresh tasks) is reported, not judged: a web container must not be taken out of
rotation because the workers are behind; ``stale`` says whether it is older than
``HEALTHZ_HEARTBEAT_MAX_AGE``. Nothing here is cached and nothing secret is shown (no URL,
no host name, no error text).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "worker:heartbeat"  # projects.tasks.HEARTBEAT_KEY


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:
        logger.warning("healthz: %s failed: %s", check.__name__, exc.__class__.__name__)
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


def database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def shared_cache() -> None:
    ping = getattr(cache, "ping", None)
    if ping is None:  # another backend: a round trip through the cache itself
        cache.set("healthz:probe", "1", 10)
        if cache.get("healthz:probe") != "1":
            raise ConnectionError("the cache did not keep a value")
    elif not ping():
        raise ConnectionError("Redis does not answer")


def heartbeat() -> dict:
    value = cache.get(HEARTBEAT_KEY)
    if not value:
        return {"last": None, "age_seconds": None, "stale": True}
    try:
        last = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return {"last": None, "age_seconds": None, "stale": True}
    age = (timezone.now() - last).total_seconds()
    return {
        "last": last.isoformat(),
        "age_seconds": round(age, 1),
        "stale": age > settings.HEALTHZ_HEARTBEAT_MAX_AGE,
    }


@never_cache
@require_GET
def healthz(request):
    checks = {"database": _timed(database)}
    if settings.REDIS_URL:
        cache_check = checks["redis"] = _timed(shared_cache)
    elif isinstance(caches["default"], LocMemCache):
        cache_check = checks["redis"] = {
            "ok": True,
            "skipped": "no REDIS_URL: in-memory cache, eager tasks",
        }
    else:
        cache_check = checks["cache"] = _timed(shared_cache)
    ok = all(c["ok"] for c in checks.values())
    body = {"status": "ok" if ok else "unavailable", "checks": checks}
    workers = settings.REDIS_URL or not settings.CELERY_TASK_ALWAYS_EAGER
    if workers and cache_check["ok"] and "skipped" not in cache_check:
        body["worker"] = heartbeat()
    return JsonResponse(body, status=200 if ok else 503)
