"""A real `celery worker` and `celery beat` on Redis refresh the database end to end."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from projects.models import Category, Finding, Project, RepositoryStatus, Snapshot
from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

CELERY = [sys.executable, "-m", "celery"]


def database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    handle = log.open("wb")
    return subprocess.Popen(
        [*CELERY, "-A", "landscape", *args],
        cwd=REPO_ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_until(condition, *, deadline_s: float, processes, logs) -> None:
    """Poll the database until the worker's effect shows (or fail with the logs)."""
    deadline = time.monotonic() + deadline_s
    while not condition():
        for process in processes:
            if process.poll() is not None:
                pytest.fail(f"a celery process exited early:\n{logs()}")
        if time.monotonic() > deadline:
            pytest.fail(f"the worker did not refresh in {deadline_s} s:\n{logs()}")
        time.sleep(0.5)


def test_beat_triggers_a_refresh_that_a_real_worker_carries_out(fake_github, tmp_path):
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL (make test sets it)")
    fake_github.active("facebookresearch/pytorch3d", days_ago=20, stars=9000)
    fake_github.archived("acme/retired")
    pillar = Category.objects.create(name="Modeling", slug="modeling")
    sub = Category.objects.create(name="3D", slug="modeling-3d", parent=pillar)
    p3d = Project.objects.create(
        name="PyTorch3D",
        slug="pytorch3d",
        homepage_url="https://pytorch3d.org/",
        repo_url="https://github.com/facebookresearch/pytorch3d",
        category=sub,
        maturity="archived",
    )
    retired = Project.objects.create(
        name="Retired",
        slug="retired",
        homepage_url="https://retired.example/",
        repo_url="https://github.com/acme/retired",
        category=sub,
    )

    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "GITHUB_API_URL": fake_github.api_url,
        "GITHUB_GRAPHQL_URL": fake_github.graphql_url,
        "GITHUB_TOKEN": "",
        "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",
        "BEAT_REFRESH_SECONDS": "1",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    worker_log, beat_log = tmp_path / "worker.log", tmp_path / "beat.log"
    worker = start(["worker", "--concurrency=1", "--loglevel=INFO"], env, worker_log)
    beat = start(
        ["beat", "--loglevel=INFO", f"--schedule={tmp_path / 'beat-schedule'}"], env, beat_log
    )

    def logs() -> str:
        return (
            worker_log.read_text(errors="replace")[-4000:]
            + beat_log.read_text(errors="replace")[-2000:]
        )

    def refreshed() -> bool:
        return RepositoryStatus.objects.filter(checked_at__isnull=False).count() == 2

    try:
        wait_until(refreshed, deadline_s=120, processes=[worker, beat], logs=logs)
    finally:
        stop(beat)
        stop(worker)

    p3d_repo = RepositoryStatus.objects.get(project=p3d)
    assert (p3d_repo.health, p3d_repo.stars) == ("active", 9000)
    assert RepositoryStatus.objects.get(project=retired).health == "archived"
    assert Project.objects.get(pk=retired.pk).health == "archived"
    assert set(Finding.objects.filter(state="open").values_list("project__slug", "kind")) == {
        ("pytorch3d", "listed_archived_but_active"),
        ("retired", "archived_upstream"),
    }
    assert Snapshot.objects.count() == 2
    assert "projects.refresh_due" in beat_log.read_text(errors="replace")
