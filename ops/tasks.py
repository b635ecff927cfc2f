"""The outbox flush, run by beat."""

from __future__ import annotations

from celery import shared_task

from ops.outbox import outbox_flush


@shared_task(name="ops.outbox_flush", soft_time_limit=120, time_limit=180, ignore_result=True)
def flush_outbox() -> int:
    sent, _ = outbox_flush()
    return sent
