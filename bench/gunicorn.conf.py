"""gunicorn as in production (the Dockerfile's command), for the load benchmark.

Sync workers, 2 x cores + 1 unless BENCH_WORKERS says otherwise; no access log (a line per
request would be part of what is measured, and production ships logs elsewhere).
"""

import multiprocessing
import os

bind = os.environ.get("BENCH_BIND", "127.0.0.1:8765")
workers = int(os.environ.get("BENCH_WORKERS") or multiprocessing.cpu_count() * 2 + 1)
worker_class = "sync"
timeout = 60
graceful_timeout = 5
keepalive = 5
preload_app = True
accesslog = None
errorlog = os.environ.get("BENCH_GUNICORN_LOG", "-")
loglevel = "warning"
wsgi_app = "landscape.wsgi:application"
