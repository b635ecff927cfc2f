"""Celery tasks: thin wrappers over projects.status, queued only after commits."""

from __future__ import annotations

import logging
import random
from datetime import datetime

from celery import current_app, shared_task
from django.core.cache import cache
from django.utils import timezone

from ops.outbox import publish, publish_on_commit
from projects import status
from projects.models import Project

logger = logging.getLogger(__name__)

BATCH_SIZE = 50  # one GitHub GraphQL query
LINK_BATCH_SIZE = 25
HEARTBEAT_KEY = "worker:heartbeat"

TASK_OPTIONS = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (ConnectionError, TimeoutError),
    "retry_backoff": 30,
    "retry_backoff_max": 30 * 60,
    "retry_jitter": True,
    "max_retries": 8,
}


def enqueue_refresh(ids: list[int], *, countdown: float | None = None) -> None:
    """Queue refreshes in batches once the surrounding transaction commits. A batch the
    broker refuses is logged and kept in the outbox (ops.outbox), sent when it is back."""
    for start in range(0, len(ids), BATCH_SIZE):
        chunk = list(ids[start : start + BATCH_SIZE])
        publish_on_commit(refresh_batch, args=[chunk], countdown=countdown)


@shared_task(name="projects.refresh_due", soft_time_limit=120, time_limit=180, **TASK_OPTIONS)
def refresh_due() -> int:
    """Beat, every 15 minutes: queue every repository whose last check is too old."""
    cache.set(HEARTBEAT_KEY, timezone.now().isoformat(), None)
    status.repositories_sync()
    ids = status.repositories_due()
    enqueue_refresh(ids)
    logger.info(
        "refresh_due: %d repositories queued in %d batches", len(ids), -(-len(ids) // BATCH_SIZE)
    )
    return len(ids)


@shared_task(
    bind=True, name="projects.refresh_batch", soft_time_limit=540, time_limit=600, **TASK_OPTIONS
)
def refresh_batch(self, ids: list[int], unless_checked_since: str | None = None) -> dict:
    cache.set(HEARTBEAT_KEY, timezone.now().isoformat(), None)
    since = datetime.fromisoformat(unless_checked_since) if unless_checked_since else None
    report = status.repositories_refresh(ids=ids, unless_checked_since=since)
    if report.pending_ids and report.rate_limited_until:
        # Spent quota: resume these after the reset, with a little jitter so that
        # every batch does not wake at the same second.
        delay = (report.rate_limited_until - timezone.now()).total_seconds()
        countdown = max(delay, 0) + random.uniform(1, 30)
        publish(refresh_batch, args=[report.pending_ids], countdown=countdown)
        logger.info(
            "refresh_batch: %d repositories resume in %.0f s (rate limit)",
            len(report.pending_ids),
            countdown,
        )
    if report.deferred_ids:
        _defer(report)
    logger.info(
        "refresh_batch: checked=%d failures=%d deferred=%d releases_unknown=%d "
        "health_changes=%d new_findings=%d requests=%d",
        report.checked,
        report.failures,
        len(report.deferred_ids),
        report.releases_unknown,
        report.health_changes,
        report.new_findings,
        report.requests,
    )
    return {
        "checked": report.checked,
        "pending": len(report.pending_ids),
        "deferred": len(report.deferred_ids),
    }


def _defer(report: status.RefreshReport) -> None:
    """Queue again the repositories another worker had locked, for when those locks have
    expired (a killed worker's included). ops.checks keeps the broker's visibility timeout
    longer than this wait, so the waiting task is not handed out twice."""
    if current_app.conf.task_always_eager:
        # In process, a countdown is not waited for: the retry would run at once, find the
        # same locks and recurse. The holder, in this same process, is checking them.
        logger.warning(
            "refresh_batch: %d repositories locked elsewhere left to the lock holder "
            "(tasks run in process)",
            len(report.deferred_ids),
        )
        return
    since = report.deferred_since.isoformat() if report.deferred_since else None
    publish(
        refresh_batch,
        args=[report.deferred_ids],
        kwargs={"unless_checked_since": since},
        countdown=report.deferred_for,
    )
    logger.info(
        "refresh_batch: %d repositories locked elsewhere, tried again in %.0f s",
        len(report.deferred_ids),
        report.deferred_for,
    )


@shared_task(name="projects.check_links_due", soft_time_limit=120, time_limit=180, **TASK_OPTIONS)
def check_links_due() -> int:
    """Beat, daily: queue link checks for every published entry."""
    ids = list(Project.objects.published().values_list("pk", flat=True))
    for start in range(0, len(ids), LINK_BATCH_SIZE):
        chunk = ids[start : start + LINK_BATCH_SIZE]
        publish_on_commit(check_links, args=[chunk])
    return len(ids)


@shared_task(name="projects.check_links", soft_time_limit=900, time_limit=960, **TASK_OPTIONS)
def check_links(project_ids: list[int]) -> dict:
    report = status.links_check(project_ids=project_ids)
    logger.info(
        "check_links: checked=%d broken=%d new_findings=%d offline=%s",
        report.checked,
        report.broken,
        report.new_findings,
        report.offline,
    )
    return {"checked": report.checked, "offline": report.offline}


@shared_task(name="projects.claim_verify", soft_time_limit=60, time_limit=90, **TASK_OPTIONS)
def claim_verify(claim_id: int) -> bool:
    """Approve a claim at once when the repository lists the claimant's GitHub login."""
    from projects.models import Claim
    from projects.moderation import claim_verify_by_repository

    claim = Claim.objects.filter(pk=claim_id).first()
    return bool(claim and claim_verify_by_repository(claim=claim))


@shared_task(name="projects.findings_digest", soft_time_limit=300, time_limit=360, **TASK_OPTIONS)
def findings_digest() -> int:
    from projects.moderation import findings_digest_send

    return findings_digest_send()
