"""API tokens: named, hashed at rest, revocable."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from api.models import ApiToken, hash_key
from api.services import token_create, token_revoke
from tests.api.conftest import make_user

pytestmark = pytest.mark.django_db


def whoami(key: str | None, header: str | None = None) -> int:
    client = APIClient()
    if header or key:
        client.credentials(HTTP_AUTHORIZATION=header or f"Token {key}")
    return client.post("/api/v1/projects/", {}, format="json").status_code


def test_only_a_hash_of_the_key_is_stored():
    user = make_user("ada")
    token, key = token_create(user=user, name="release CI")
    stored = ApiToken.objects.get(pk=token.pk)
    assert key.startswith(f"plk_{stored.prefix}_")
    assert stored.key_hash == hash_key(key)
    assert key not in repr(ApiToken.objects.filter(pk=token.pk).values().get())
    assert whoami(key) == 400  # authenticated: the empty body is what is wrong
    stored.refresh_from_db()
    assert stored.last_used_at is not None


def test_names_are_required_and_unique_among_active_tokens():
    user = make_user("ada")
    token_create(user=user, name="ci")
    with pytest.raises(ValidationError):
        token_create(user=user, name="ci")
    with pytest.raises(ValidationError):
        token_create(user=user, name="  ")
    token_create(user=make_user("bob"), name="ci")  # another user's namespace


def test_revoked_tokens_and_bad_headers_are_refused():
    user = make_user("ada")
    token, key = token_create(user=user, name="ci")
    token_revoke(token=token, user=user)
    token_revoke(token=token, user=user)  # idempotent
    assert whoami(key) == 401
    token_create(user=user, name="ci")  # the name is free again
    assert whoami(None, "Token") == 401
    assert whoami(None, "Token a b") == 401
    assert whoami(None, "Token plk_forged_key") == 401
    assert whoami(None) == 401


def test_only_the_owner_or_staff_revoke_a_token():
    owner, other, staff = make_user("ada"), make_user("bob"), make_user("root", staff=True)
    token, key = token_create(user=owner, name="ci")
    with pytest.raises(PermissionError):
        token_revoke(token=token, user=other)
    assert whoami(key) == 400
    token_revoke(token=token, user=staff)
    assert whoami(key) == 401


def test_an_inactive_users_token_is_refused():
    user = make_user("ada")
    _, key = token_create(user=user, name="ci")
    user.is_active = False
    user.save()
    assert whoami(key) == 401
