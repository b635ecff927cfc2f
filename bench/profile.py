"""Where an endpoint's time goes: pyinstrument over a few in-process requests (Django's test
client, the bench settings, the cache off), plus each request's SQL time, written to
bench/profiles/<name>.txt. Needs pyinstrument (``pip install pyinstrument``).

    .venv/bin/python -m bench.profile [NAME ...]   (names: the keys of ENDPOINTS)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ENDPOINTS = {
    "list": "/api/v1/projects/?category=modeling&health=active&ordering=-stars&page=2",
    "search": "/api/v1/projects/?q=graph+vision",
    "project": None,  # the first published entry's page
    "landscape": "/",
    # Not a load-run endpoint: the web page of a search, with its facet counts.
    "web-search": "/?q=graph+vision",
    # Nor these: the API's default list (landscape order), its first and its last page.
    "api-default": "/api/v1/projects/",
    "api-last-page": "/api/v1/projects/?page=2000",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/landscape_bench_web"
    )
    parser.add_argument("--static-root", default=str(ROOT / "var" / "bench-static"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("names", nargs="*", default=list(ENDPOINTS))
    args = parser.parse_args()
    os.environ.update(
        DATABASE_URL=args.database_url,
        DJANGO_SETTINGS_MODULE="bench.settings",
        BENCH_CACHE="off",
        DEBUG="0",
        SECRET_KEY="profile-" + "k" * 40,
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="0",
        STATIC_ROOT=args.static_root,
        LOG_LEVEL="WARNING",
        BENCH_THROTTLE="off",
    )
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from pyinstrument import Profiler

    from projects.models import Project

    call_command("collectstatic", "--noinput", verbosity=0)
    out_dir = Path(__file__).resolve().parent / "profiles"
    out_dir.mkdir(exist_ok=True)
    client = Client()
    entries = Project.objects.count()
    for name in args.names:
        url = ENDPOINTS[name] or Project.objects.published().first().get_absolute_url()
        client.get(url)  # warm: templates, connections
        lines = [f"{name}: GET {url} at {entries} entries, cache off", ""]
        for _ in range(3):
            with CaptureQueriesContext(connection) as ctx:
                started = time.perf_counter()
                response = client.get(url)
                wall = (time.perf_counter() - started) * 1000
            sql = sum(float(q["time"]) for q in ctx.captured_queries) * 1000
            lines.append(
                f"{response.status_code} {len(response.content)} bytes, {wall:.1f} ms, "
                f"{len(ctx.captured_queries)} queries, {sql:.1f} ms in SQL"
            )
        slowest = sorted(ctx.captured_queries, key=lambda q: -float(q["time"]))[:3]
        lines += ["", "slowest queries of the last request:"]
        lines += [f"  {float(q['time']) * 1000:.1f} ms  {q['sql'][:400]}" for q in slowest]
        profiler = Profiler()
        profiler.start()
        for _ in range(args.repeat):
            client.get(url)
        profiler.stop()
        lines += ["", profiler.output_text(unicode=False, show_all=False)]
        (out_dir / f"{name}.txt").write_text("\n".join(lines))
        print("\n".join(lines[:6]))


if __name__ == "__main__":
    main()
