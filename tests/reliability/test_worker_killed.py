"""A Celery worker SIGKILLed in the middle of a refresh batch: once a new worker runs,
every due repository is refreshed, no snapshot is duplicated and no lock stays stuck.

How it recovers: tasks are acknowledged late (``acks_late``), so the killed batch's message
is still "unacknowledged" in Redis; Redis gives it back after the broker's visibility
timeout (``CELERY_VISIBILITY_TIMEOUT``). The batch's repository locks, taken by the dead
worker, expire after ``REFRESH_LOCK_TTL_SECONDS``, which is shorter than the visibility
timeout, so the redelivered batch finds them free. Production: 15 minutes and 2 hours;
here 12 s and 20 s, so that the test takes seconds, with the same ordering.
"""

from __future__ import annotations

import pytest

from projects import status
from projects.models import Category, Project, RepositoryStatus, Snapshot
from tests.reliability.conftest import test_database_url
from tests.reliability.procs import app_env, celery, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.faults, pytest.mark.django_db(transaction=True)]

REPOSITORIES = 120  # three batches of 50, 50 and 20
LOCK_TTL_S = 12
VISIBILITY_S = 20
LOCK_PATTERN = "landscape:*lock:repository:*"


def test_a_worker_killed_mid_batch_loses_nothing(fake_github, redis_server, tmp_path):
    # A few requests a repository at 20 ms each: a batch of 50 takes about 4 s, long enough
    # to kill the worker inside it, and shorter than the lock's time to live.
    fake_github.latency = 0.02
    pillar = Category.objects.create(name="Training", slug="training")
    sub = Category.objects.create(name="General", slug="training-general", parent=pillar)
    for i in range(REPOSITORIES):
        fake_github.active(f"acme/r{i:03d}", stars=i)
        Project.objects.create(
            name=f"R{i:03d}",
            slug=f"r{i:03d}",
            homepage_url=f"https://r{i:03d}.example/",
            repo_url=f"https://github.com/acme/r{i:03d}",
            category=sub,
        )
    status.repositories_sync()
    ids = status.repositories_due()
    assert len(ids) == REPOSITORIES

    env = app_env(
        DATABASE_URL=test_database_url(),
        REDIS_URL=redis_server.url(),
        GITHUB_API_URL=fake_github.api_url,
        GITHUB_GRAPHQL_URL=fake_github.graphql_url,
        GITHUB_TOKEN="",
        MEDIA_ROOT=str(tmp_path / "media"),
        REFRESH_LOCK_TTL_SECONDS=str(LOCK_TTL_S),
        CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_S),
        CELERY_UNACKED_RESTORE_INTERVAL="1",
        LOG_FORMAT="text",
    )
    # Queue the batches exactly as beat's refresh_due does, on the throwaway broker.
    from landscape.celery import app

    with app.connection_for_write(redis_server.url()) as connection:
        for start in range(0, len(ids), 50):
            app.send_task(
                "projects.refresh_batch",
                args=[ids[start : start + 50]],
                queue="refresh",
                connection=connection,
            )

    def checked() -> int:
        return RepositoryStatus.objects.filter(checked_at__isnull=False).count()

    first = celery("worker", env, tmp_path, name="first")
    wait_until(
        lambda: checked() >= 10,
        deadline_s=60,
        what="the first worker to be inside its first batch",
        logs=first.text,
        processes=(first.process,),
    )
    first.kill()
    done_before_kill = checked()
    redis = redis_server.client()
    stuck_locks = len(redis.keys(LOCK_PATTERN))
    unacked = redis.hlen("unacked")
    print(
        f"\nkilled the worker with {done_before_kill}/{REPOSITORIES} repositories refreshed, "
        f"{stuck_locks} repository locks held by it, {unacked} unacknowledged message(s)"
    )
    assert 0 < done_before_kill < 50, "the kill must land inside the first batch"
    assert stuck_locks > 0 and unacked == 1

    second = celery("worker", env, tmp_path, name="second")
    try:
        wait_until(
            lambda: checked() == REPOSITORIES and not redis.hlen("unacked"),
            deadline_s=120,
            what="the second worker to refresh every repository",
            logs=second.text,
            processes=(second.process,),
        )
        # The redelivered batch is acknowledged once done: nothing is left to redeliver.
        wait_until(
            lambda: not redis.keys(LOCK_PATTERN) and not redis.llen("refresh"),
            deadline_s=30,
            what="the locks to be released",
            logs=second.text,
        )
    finally:
        second.stop()

    assert status.repositories_due() == []
    assert Snapshot.objects.count() == REPOSITORIES
    assert set(Snapshot.objects.values_list("repository_id", flat=True)) == set(ids)
    assert set(RepositoryStatus.objects.values_list("health", flat=True)) == {"active"}
    # The killed batch came back whole: its repositories already refreshed before the kill
    # were asked for again, and still have one snapshot each.
    asked_twice = [
        i for i in range(50) if fake_github.count(path_prefix=f"/repos/acme/r{i:03d}") > 2
    ]
    assert len(asked_twice) >= done_before_kill
    print(
        f"second worker: all {REPOSITORIES} refreshed, {Snapshot.objects.count()} snapshots "
        f"(one each), {len(asked_twice)} repositories of the killed batch asked again, "
        "0 locks left"
    )
