"""The outbox: Celery tasks whose publication failed (the broker was away), kept in the
database until ``ops.outbox_flush`` sends them."""

from __future__ import annotations

from django.db import models


class PendingTask(models.Model):
    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    # apply_async options that survive a delay: queue, countdown (from the first attempt).
    options = models.JSONField(default=dict)
    # The same task with the same arguments is kept once: a webhook storm during an outage
    # leaves one row, not a thousand.
    fingerprint = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.task}{tuple(self.args)!r} (attempts: {self.attempts})"


class Delivery(models.Model):
    """A webhook delivery already acted on, by each of its keys (ops.deliveries): the unique
    key makes two concurrent identical deliveries do their work once."""

    key = models.CharField(max_length=80, unique=True)
    received = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.key
