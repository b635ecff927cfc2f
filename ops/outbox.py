"""Publish Celery tasks so that a broker outage loses none of them.

``publish`` sends a task at once; when the broker refuses (Redis stopped, unreachable), it
logs a warning and records the task in the ``PendingTask`` table instead of raising, so the
web request that asked for it still answers. ``outbox_flush`` (a beat task, every
``OUTBOX_FLUSH_SECONDS``) sends the recorded ones once the broker answers again, oldest
first, and stops at the first refusal (the broker is still away; next round). A task is
delivered at least once: every task of ours is idempotent.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta

from celery import current_app
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)

#: What a failed publication raises: kombu wraps connection errors in OperationalError;
#: the others cover a transport that lets its own errors through.
BROKER_ERRORS = (OperationalError, ConnectionError, TimeoutError, OSError)
KEPT_OPTIONS = ("queue", "countdown")
MAX_BACKOFF = timedelta(minutes=10)


def _fingerprint(name: str, args, kwargs) -> str:
    body = json.dumps([name, list(args), kwargs or {}], sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def _send(name: str, args, kwargs, options: dict) -> None:
    app = current_app
    with app.producer_or_acquire() as producer:
        # Fail in a moment rather than after kombu's connection retry loop (seconds per
        # call): a web request must not wait for a broker that is away. One immediate retry
        # covers a pooled connection that went stale when Redis restarted.
        producer.connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0)
        app.send_task(
            name, args=list(args), kwargs=kwargs or {}, producer=producer, retry=False, **options
        )


def publish(task, args=(), kwargs=None, **options) -> bool:
    """Send ``task`` now; if the broker refuses, keep it in the outbox. True when sent."""
    if current_app.conf.task_always_eager:
        # In process (the embedded default and most tests): nothing to publish.
        task.apply_async(args=list(args), kwargs=kwargs or {}, **options)
        return True
    kept = {k: v for k, v in options.items() if k in KEPT_OPTIONS and v is not None}
    try:
        _send(task.name, args, kwargs, kept)
        return True
    except BROKER_ERRORS as exc:
        _record(task.name, args, kwargs, kept, exc)
        return False


def publish_on_commit(task, args=(), kwargs=None, **options) -> None:
    """``publish`` once the surrounding transaction commits (at once outside one)."""
    transaction.on_commit(lambda: publish(task, args, kwargs, **options))


def _record(name: str, args, kwargs, options: dict, exc: BaseException) -> None:
    from ops.models import PendingTask

    _, created = PendingTask.objects.get_or_create(
        fingerprint=_fingerprint(name, args, kwargs),
        defaults={
            "task": name,
            "args": list(args),
            "kwargs": kwargs or {},
            "options": options,
            "next_attempt_at": timezone.now(),
            "last_error": f"{exc.__class__.__name__}: {exc}"[:2000],
        },
    )
    logger.warning(
        "broker unavailable: task %s kept in the outbox%s (%s)",
        name,
        "" if created else " (already waiting there)",
        exc.__class__.__name__,
    )


def outbox_flush(*, limit: int = 500) -> tuple[int, int]:
    """Send the waiting tasks, oldest first. Returns (sent, still waiting)."""
    from ops.models import PendingTask

    sent = 0
    now = timezone.now()
    while True:
        with transaction.atomic():
            rows = list(
                PendingTask.objects.select_for_update(skip_locked=True)
                .filter(next_attempt_at__lte=now)
                .order_by("id")[:limit]
            )
            if not rows:
                break
            for row in rows:
                try:
                    _send(row.task, row.args, row.kwargs, row.options)
                except BROKER_ERRORS as exc:
                    row.attempts += 1
                    row.last_error = f"{exc.__class__.__name__}: {exc}"[:2000]
                    row.next_attempt_at = now + min(
                        timedelta(seconds=15 * 2**row.attempts), MAX_BACKOFF
                    )
                    row.save(update_fields=["attempts", "last_error", "next_attempt_at"])
                    logger.warning("outbox: the broker still refuses (%s)", exc.__class__.__name__)
                    return sent, PendingTask.objects.count()
                row.delete()
                sent += 1
    waiting = PendingTask.objects.count()
    if sent:
        logger.info("outbox: %d waiting tasks sent, %d still waiting", sent, waiting)
    return sent, waiting
