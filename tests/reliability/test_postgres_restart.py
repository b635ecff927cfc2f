"""PostgreSQL restarted under load: errors only while it is down, then recovery without
restarting the app.

A throwaway PostgreSQL cluster (never the shared one) holds the demo landscape; gunicorn
serves it with persistent connections (CONN_MAX_AGE) and CONN_HEALTH_CHECKS on. Threads
request pages and the API while the cluster is stopped, held down until the app has been
seen failing, and started again. Every request that began after PostgreSQL answered again
must succeed, with the same gunicorn workers as before (nothing restarted), and /healthz
must have said 503 while the database was away.
"""

from __future__ import annotations

import time

import pytest

from tests.reliability.load import Load
from tests.reliability.procs import app_env, get, gunicorn, manage, wait_until

pytestmark = [pytest.mark.faults]


def test_the_app_recovers_from_a_postgres_restart_by_itself(postgres_server, static_root, tmp_path):
    env = app_env(
        DATABASE_URL=postgres_server.url(),
        REDIS_URL="",  # the in-memory cache: only the database fails here
        CELERY_TASK_ALWAYS_EAGER="1",
        STATIC_ROOT=str(static_root),
        MEDIA_ROOT=str(tmp_path / "media"),
        CONN_MAX_AGE="600",
    )
    manage(env, "migrate", "--noinput")
    manage(env, "seed_demo")
    web, base = gunicorn(env, tmp_path)
    workers_before = web.children()
    assert len(workers_before) == 3
    load = Load(
        base,
        {
            "page": ["/", "/projects/pytorch-lightning/", "/stats/"],
            "api": ["/api/v1/projects/", "/api/v1/projects/pytorch-lightning/", "/api/v1/stats/"],
        },
    )
    health_during = None
    try:
        assert get(base + "/api/v1/projects/pytorch-lightning/")[0] == 200
        load.start()
        wait_until(
            lambda: load.count(phase="before", ok=True) >= 30,
            deadline_s=60,
            what="a first load",
            logs=web.text,
        )

        stopping = time.monotonic()
        load.phase = "down"
        postgres_server.stop()
        # Held down until the app has been seen failing, so the window is a real one.
        wait_until(
            lambda: load.count(phase="down", ok=False) >= 40,
            deadline_s=30,
            what="requests to fail while PostgreSQL is down",
            logs=web.text,
        )
        health_during = get(base + "/healthz")
        postgres_server.start()
        wait_until(postgres_server.answers, deadline_s=30, what="PostgreSQL to answer")
        # Every request from here on began with PostgreSQL answering.
        load.phase = "after"
        back = time.monotonic()
        wait_until(
            lambda: load.count(phase="after", ok=True) >= 100,
            deadline_s=60,
            what="load after the restart",
            logs=web.text,
        )
    finally:
        load.stop()
        workers_after = web.children()
        web.stop()

    print(
        f"\nPostgreSQL stopped and started under load ({load.threads} threads), down for "
        f"{back - stopping:.1f} s:\n{load.summary()}"
    )
    assert health_during[0] == 503
    assert b'"database": {"ok": false' in health_during[1]
    # Errors only while it was down: every failed request was in flight between the stop
    # and the moment PostgreSQL answered again; every request begun after that succeeded.
    outside = [r for r in load.failures() if r.started + r.seconds < stopping or r.started > back]
    assert outside == [], outside[:5]
    assert load.count(phase="after", ok=False) == 0
    assert load.count(phase="after", ok=True, kind="page") >= 20
    assert load.count(phase="after", ok=True, kind="api") >= 20
    # While down, the app answered 503 (no hang, no crash, no 500: an outage is not a bug):
    # every request got an answer (landscape.outage).
    assert {r.status for r in load.failures()} == {503}
    # Recovered without a restart: the same gunicorn workers served before and after.
    assert workers_after == workers_before
