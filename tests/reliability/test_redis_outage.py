"""Redis stopped for 30 s while the site is under load.

gunicorn (DEBUG off), a Celery worker and beat run on a throwaway Redis; threads request
pages and API endpoints the whole time, and GitHub webhooks arrive during the outage.
What must hold:
- no 5xx and no refused connection, before, during and after (the cache answers misses:
  landscape.cache.FaultTolerantRedisCache);
- /healthz says 503 while Redis is away and 200 once it is back;
- a task that cannot be published (the webhook's refresh) is logged and kept in the outbox
  (ops.PendingTask) instead of failing the request;
- once Redis returns, beat's ops.outbox_flush sends them and the worker refreshes those
  repositories: the backlog drains without restarting anything.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from ops.models import PendingTask
from projects import status
from projects.models import Category, Project, RepositoryStatus
from tests.reliability.conftest import test_database_url
from tests.reliability.load import Load
from tests.reliability.procs import app_env, celery, get, gunicorn, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.faults, pytest.mark.django_db(transaction=True)]

OUTAGE_S = 30
WEBHOOK_SECRET = "reliability-webhook-secret"
HOOKED = [f"acme/hook{i}" for i in range(5)]


def webhook(full_name: str) -> tuple[str, bytes, dict]:
    body = json.dumps({"repository": {"full_name": full_name}}).encode()
    signature = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-Hub-Signature-256": f"sha256={signature}",
    }
    return "/hooks/github/", body, headers


def test_pages_and_api_survive_a_redis_outage_and_the_backlog_drains(
    fake_github, redis_server, static_root, tmp_path
):
    pillar = Category.objects.create(name="Training", slug="training")
    sub = Category.objects.create(name="General", slug="training-general", parent=pillar)
    for i, full_name in enumerate([f"acme/p{i}" for i in range(6)] + HOOKED):
        fake_github.active(full_name)
        name = full_name.split("/")[1]
        Project.objects.create(
            name=name.title(),
            slug=name,
            homepage_url=f"https://{name}.example/",
            repo_url=f"https://github.com/{full_name}",
            category=sub,
            description=f"Entry number {i}.",
        )
    status.repositories_sync()

    env = app_env(
        DATABASE_URL=test_database_url(),
        REDIS_URL=redis_server.url(),
        STATIC_ROOT=str(static_root),
        MEDIA_ROOT=str(tmp_path / "media"),
        GITHUB_API_URL=fake_github.api_url,
        GITHUB_GRAPHQL_URL=fake_github.graphql_url,
        GITHUB_TOKEN="",
        GITHUB_WEBHOOK_SECRET=WEBHOOK_SECRET,
        OUTBOX_FLUSH_SECONDS="2",
        BEAT_REFRESH_SECONDS="86400",
        BEAT_LINKS_SECONDS="86400",
    )
    web, base = gunicorn(env, tmp_path)
    worker = celery("worker", env, tmp_path)
    beat = celery("beat", env, tmp_path, f"--schedule={tmp_path / 'beat-schedule'}")
    processes = (web.process, worker.process, beat.process)

    def logs() -> str:
        return "\n".join(f"--- {p.name}\n{p.text(3000)}" for p in (web, worker, beat))

    load = Load(
        base,
        {
            "page": ["/", "/projects/p1/", "/stats/"],
            "api": ["/api/v1/projects/", "/api/v1/projects/p2/", "/api/v1/stats/"],
        },
    )
    hooks = Load(base, {"webhook": [webhook(name) for name in HOOKED]}, threads=1)
    try:
        load.start()
        wait_until(
            lambda: load.count(phase="before", ok=True) >= 60,
            deadline_s=60,
            what="a first load on a healthy site",
            logs=logs,
        )

        # --- Redis goes away ---
        redis_server.stop()
        stopped = time.monotonic()
        load.phase = "outage"
        hooks.phase = "outage"
        hooks.start()
        wait_until(
            lambda: get(base + "/healthz")[0] == 503,
            deadline_s=10,
            what="/healthz to say 503",
            logs=logs,
        )
        wait_until(
            lambda: PendingTask.objects.count() == len(HOOKED),
            deadline_s=OUTAGE_S,
            what="the refused refreshes to be kept in the outbox",
            logs=logs,
        )
        outbox_during = PendingTask.objects.count()
        wait_until(
            lambda: time.monotonic() - stopped >= OUTAGE_S,
            deadline_s=OUTAGE_S + 5,
            what=f"{OUTAGE_S} s of outage",
        )
        hooks.stop()

        # --- Redis is back (empty: it kept nothing on disk) ---
        redis_server.start()
        restarted = time.monotonic()
        load.phase = "after"
        wait_until(
            lambda: get(base + "/healthz")[0] == 200,
            deadline_s=30,
            what="/healthz to say 200 again",
            logs=logs,
        )
        wait_until(
            lambda: (
                not PendingTask.objects.exists()
                and RepositoryStatus.objects.filter(
                    name__startswith="hook", checked_at__isnull=False
                ).count()
                == len(HOOKED)
            ),
            deadline_s=120,
            what="the outbox to drain and the worker to refresh the webhook repositories",
            logs=logs,
            processes=processes,
        )
        drained = time.monotonic() - restarted
        wait_until(
            lambda: load.count(phase="after", ok=True) >= 60,
            deadline_s=60,
            what="more load after the outage",
            logs=logs,
        )
    finally:
        load.stop()
        hooks.stop()
        beat.stop()
        worker.stop()
        web.stop()

    web_log = web.log.read_text(errors="replace")
    print(
        f"\nRedis stopped {OUTAGE_S} s under load ({load.threads} threads + 1 posting webhooks):\n"
        f"{load.summary()}\n{hooks.summary()}\n"
        f"  outbox: {outbox_during} refreshes kept during the outage, sent and refreshed "
        f"{drained:.1f} s after Redis returned"
    )
    assert load.failures() == [], load.failures()[:5]
    assert hooks.failures() == [], hooks.failures()[:5]
    # Served all along, not merely "no 5xx because nothing was asked".
    for kind in ("page", "api"):
        assert load.count(phase="outage", ok=True, kind=kind) >= 20
    assert hooks.count(phase="outage", ok=True) >= len(HOOKED)
    # Each repository's first delivery is taken (202); the poster then sends the same signed
    # bodies again, which are replays: answered 200 and not acted on (ops.Delivery).
    statuses = [r.status for r in hooks.results]
    assert statuses[: len(HOOKED)] == [202] * len(HOOKED)
    assert set(statuses[len(HOOKED) :]) <= {200}
    # Logged, once per process, not once per call.
    assert "cache unavailable" in web_log
    assert "broker unavailable: task projects.refresh_batch kept in the outbox" in web_log
    assert web_log.count("cache unavailable") <= 3  # once per gunicorn worker
    assert set(
        RepositoryStatus.objects.filter(name__startswith="hook").values_list("health", flat=True)
    ) == {"active"}
