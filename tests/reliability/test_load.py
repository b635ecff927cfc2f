"""60 s at 64 connections on the API while a refresh runs: zero errors, numbers printed.

wrk (Debian's package; `make system-deps` installs it) drives gunicorn on loopback, DEBUG
off, on the demo landscape (189 entries), with its cache on a throwaway Redis. Meanwhile a
Celery worker refreshes every repository against the fake GitHub, slowed down so that the
refresh lasts through the whole run and writes while the API reads.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from django.core.management import call_command

from projects import status
from projects.models import RepositoryStatus
from tests.reliability.conftest import test_database_url
from tests.reliability.procs import app_env, celery, get, gunicorn, wait_until

pytestmark = [
    pytest.mark.load,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
]

DURATION_S = 60
CONNECTIONS = 64
PATHS = [
    "/api/v1/projects/",
    "/api/v1/projects/?page=2",
    "/api/v1/projects/?health=active",
    "/api/v1/projects/pytorch-lightning/",
    "/api/v1/projects/?q=distributed",
    "/api/v1/categories/",
    "/api/v1/stats/",
    "/api/v1/findings/",
]
LUA = """
local paths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
"""


def parse_wrk(output: str) -> dict:
    def number(pattern: str, default: float = 0.0) -> float:
        match = re.search(pattern, output)
        return float(match.group(1)) if match else default

    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return {
        "requests": int(number(r"(\d+) requests in")),
        "rps": number(r"Requests/sec:\s+([\d.]+)"),
        "non_2xx_3xx": int(number(r"Non-2xx or 3xx responses: (\d+)")),
        "socket_errors": sum(int(g) for g in socket.groups()) if socket else 0,
    }


def test_the_api_holds_64_connections_for_60_s_during_a_refresh(
    fake_github, redis_server, static_root, tmp_path
):
    wrk = shutil.which("wrk")
    if wrk is None:
        pytest.skip("wrk is not installed (make system-deps installs it)")
    call_command("seed_demo", verbosity=0)
    status.repositories_sync()
    for row in RepositoryStatus.objects.filter(host="github.com"):
        fake_github.active(f"{row.owner}/{row.name}", stars=100)
    repositories = RepositoryStatus.objects.count()
    # About 0.5 s a repository: the refresh outlasts the run.
    fake_github.latency = 0.15

    env = app_env(
        DATABASE_URL=test_database_url(),
        REDIS_URL=redis_server.url(),
        STATIC_ROOT=str(static_root),
        MEDIA_ROOT=str(tmp_path / "media"),
        GITHUB_API_URL=fake_github.api_url,
        GITHUB_GRAPHQL_URL=fake_github.graphql_url,
        GITHUB_TOKEN="",
        LOG_LEVEL="WARNING",
    )
    web, base = gunicorn(env, tmp_path, workers=4)
    worker = celery("worker", env, tmp_path)
    try:
        for path in PATHS:
            assert get(base + path)[0] == 200, path
        from landscape.celery import app

        with app.connection_for_write(redis_server.url()) as connection:
            app.send_task("projects.refresh_due", queue="refresh", connection=connection)

        def refreshed() -> int:
            return RepositoryStatus.objects.filter(checked_at__isnull=False).count()

        wait_until(
            lambda: refreshed() > 0,
            deadline_s=60,
            what="the refresh to start",
            logs=worker.text,
            processes=(worker.process,),
        )
        at_start = refreshed()
        script = tmp_path / "paths.lua"
        script.write_text(LUA % ", ".join(f'"{p}"' for p in PATHS))
        run = subprocess.run(
            [
                wrk,
                f"-t{4}",
                f"-c{CONNECTIONS}",
                f"-d{DURATION_S}s",
                "--timeout",
                "10s",
                "--latency",
                "-s",
                str(script),
                base,
            ],
            capture_output=True,
            text=True,
            timeout=DURATION_S + 60,
            check=True,
        )
        at_end = refreshed()
    finally:
        worker.stop()
        web.stop()

    numbers = parse_wrk(run.stdout)
    print(
        f"\nwrk, {CONNECTIONS} connections, {DURATION_S} s, {len(PATHS)} API paths in turn, "
        f"gunicorn 4 sync workers, while the worker refreshed repositories "
        f"{at_start} -> {at_end} of {repositories}:\n{run.stdout}"
    )
    assert numbers["requests"] > 0
    assert numbers["non_2xx_3xx"] == 0, run.stdout
    assert numbers["socket_errors"] == 0, run.stdout
    # The refresh ran during the whole load, writing while the API read.
    assert at_start < at_end < repositories
