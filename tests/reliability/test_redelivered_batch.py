"""A killed worker's batch redelivered while its repository locks are still held: the
repositories are deferred until the locks expire, never dropped, and beat is not needed.

Redis hands the killed batch out again once the visibility timeout has passed; here the
timeout (16 s) is much shorter than the locks' time to live (40 s), so the redelivered
batch finds every lock of the dead worker still held, however slowly the second worker
starts. ops.E001 refuses such settings in a deployment; a lock held by another, live
worker puts a batch in the same place. The test takes that shortcut to a held lock at
redelivery with one worker and no beat. (With these settings Redis also hands out the
deferred batch again while it waits: the copies find their repositories checked since
and do nothing: one run only checks anything.)
"""

from __future__ import annotations

import re

import pytest

from projects import status
from projects.models import Category, Project, RepositoryStatus, Snapshot
from tests.reliability.conftest import test_database_url
from tests.reliability.procs import app_env, celery, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.faults, pytest.mark.django_db(transaction=True)]

REPOSITORIES = 50  # one batch
LOCK_TTL_S = 40
VISIBILITY_S = 16
LOCK_PATTERN = "landscape:*lock:repository:*"


def test_a_batch_redelivered_while_its_locks_are_held_refreshes_everything(
    fake_github, redis_server, tmp_path
):
    fake_github.latency = 0.02  # a batch of 50 takes a few seconds: room to kill inside it
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
    from landscape.celery import app

    with app.connection_for_write(redis_server.url()) as connection:
        app.send_task("projects.refresh_batch", args=[ids], queue="refresh", connection=connection)

    def checked_ids() -> set[int]:
        return set(
            RepositoryStatus.objects.filter(checked_at__isnull=False).values_list("pk", flat=True)
        )

    def asked(repository_id: int) -> int:
        name = RepositoryStatus.objects.get(pk=repository_id).name
        return fake_github.count(path_prefix=f"/repos/acme/{name}")

    first = celery("worker", env, tmp_path, name="first")
    wait_until(
        lambda: len(checked_ids()) >= 10,
        deadline_s=60,
        what="the first worker to be inside its first batch",
        logs=first.text,
        processes=(first.process,),
    )
    first.kill()
    done_before_kill = checked_ids()
    asked_before_kill = {i: asked(i) for i in done_before_kill}
    redis = redis_server.client()
    assert 0 < len(done_before_kill) < 50, "the kill must land inside the first batch"
    assert len(redis.keys(LOCK_PATTERN)) == 50 and redis.hlen("unacked") == 1

    second = celery("worker", env, tmp_path, name="second")
    try:
        wait_until(
            lambda: (
                len(checked_ids()) == REPOSITORIES
                and not redis.hlen("unacked")
                and not redis.llen("refresh")
            ),
            deadline_s=120,
            what="the second worker to refresh every repository without beat",
            logs=second.text,
            processes=(second.process,),
        )
    finally:
        second.stop()

    log = second.text(tail=200_000)
    # The redelivered batch found the dead worker's locks held and said so.
    deferred = [
        int(n) for n in re.findall(r"refresh_batch: checked=\d+ failures=\d+ deferred=(\d+)", log)
    ]
    assert 50 in deferred, log[-4000:]
    assert "repositories locked elsewhere, tried again in" in log
    # Once the locks expired, one run checked what the dead worker had not; no repository
    # was checked by two runs.
    runs = [int(n) for n in re.findall(r"refresh_batch: checked=(\d+)", log)]
    assert [n for n in runs if n] == [REPOSITORIES - len(done_before_kill)], runs
    assert Snapshot.objects.count() == REPOSITORIES
    assert set(Snapshot.objects.values_list("repository_id", flat=True)) == set(ids)
    assert set(RepositoryStatus.objects.values_list("health", flat=True)) == {"active"}
    # What the dead worker had checked was not asked for again after the locks expired.
    assert {i: asked(i) for i in done_before_kill} == asked_before_kill
    assert not redis.keys(LOCK_PATTERN)
    print(
        f"\nkilled with {len(done_before_kill)}/50 of its batch refreshed; the redelivered "
        f"batch deferred 50 until the locks expired; all {REPOSITORIES} refreshed once"
    )
