"""Writes of the API app: creating and revoking API tokens (each one transaction)."""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from api.models import KEY_PREFIX, PREFIX_LENGTH, ApiToken, hash_key


@transaction.atomic
def token_create(*, user, name: str) -> tuple[ApiToken, str]:
    """Create a named token for ``user``; return it with its key, which is never stored.

    The key must be shown to the user now: only its hash is kept.
    """
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "A token needs a name."})
    if len(name) > ApiToken._meta.get_field("name").max_length:
        raise ValidationError({"name": "The name is too long."})
    if ApiToken.objects.active().filter(user=user, name=name).exists():
        raise ValidationError({"name": "You already have an active token with this name."})
    prefix = secrets.token_hex(PREFIX_LENGTH // 2)
    key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(user=user, name=name, prefix=prefix, key_hash=hash_key(key))
    return token, key


@transaction.atomic
def token_revoke(*, token: ApiToken, user) -> ApiToken:
    """Revoke one of ``user``'s tokens (staff may revoke anyone's); revoking twice is a no-op."""
    from projects.permissions import is_moderator

    if token.user_id != user.pk and not is_moderator(user):
        raise PermissionError("only the token's owner or staff may revoke it")
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def token_authenticate(key: str) -> ApiToken | None:
    """The active token with this key, or None (a read, kept beside the writes it pairs with)."""
    if not key.startswith(f"{KEY_PREFIX}_"):
        return None
    return ApiToken.objects.active().select_related("user").filter(key_hash=hash_key(key)).first()


def token_touch(token: ApiToken) -> None:
    """Record the use of a token, at most once a minute, without touching anything else."""
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() >= 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
