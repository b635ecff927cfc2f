"""Settings of the load benchmark: the product's own (landscape.settings), plus two switches.

``BENCH_FLOOR=1`` serves the framework floor (bench.urls adds ``/bench/floor``: a bare view
returning a fixed 10 KB JSON body through the same gunicorn, middleware and settings).
``BENCH_THROTTLE=off`` drops the API's per-address throttles (see below).
``BENCH_CACHE=off`` replaces the cache by Django's DummyCache: nothing is answered from
memory (uncached runs); otherwise the cache is the product's (Redis at ``REDIS_URL``).
Everything else (DEBUG off, SECRET_KEY, ALLOWED_HOSTS, the database) comes from the
environment exactly as in production.
"""

import os

from landscape.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

# The load comes from one address: the API's per-address throttle would refuse it at the
# production rate, and at a rate no run reaches DRF keeps every request's timestamp of the
# last minute in one cache entry (100,000 of them, read and written on every request).
# BENCH_THROTTLE=off (bench/run.py's default) measures the API without it; with real
# visitors each address's history holds at most its own few requests.
if os.environ.get("BENCH_THROTTLE", "on") == "off":
    REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}  # noqa: F405

if os.environ.get("BENCH_CACHE", "on") == "off":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
