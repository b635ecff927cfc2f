"""API tokens: named, revocable keys of which only a hash is stored."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q

# A key looks like "plk_<prefix>_<secret>"; the prefix is shown to its owner to tell
# tokens apart, the whole key is shown once, at creation, and never stored.
KEY_PREFIX = "plk"
PREFIX_LENGTH = 8


def hash_key(key: str) -> str:
    """SHA-256 of the key: keys are 256 random bits, so a fast hash is enough."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. 'release CI'.")
    prefix = models.CharField(max_length=PREFIX_LENGTH, db_index=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "name"],
                condition=Q(revoked_at__isnull=True),
                name="apitoken_unique_active_name_per_user",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({KEY_PREFIX}_{self.prefix}…) of {self.user}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class EntryBody(models.Model):
    """An entry's JSON as the public list shows it, written by PostgreSQL triggers whenever
    the entry or anything it shows changes (api/entry_body_sql.py); read by api.public_list.
    Empty elsewhere (SQLite): the list is then always built by the serializer."""

    project = models.OneToOneField(
        "projects.Project",
        primary_key=True,
        on_delete=models.DO_NOTHING,  # the triggers delete it with the entry
        db_constraint=False,
        related_name="+",
    )
    plain = models.BooleanField()  # false: served by the serializer (see entry_body_sql)
    body = models.TextField()

    def __str__(self) -> str:
        return f"body of entry {self.project_id}"
