"""Login throttling (django-axes) for every way in: the admin's form posts ``username``,
allauth's form posts ``login`` and authenticates with ``email=`` (or ``username=``), and
either form accepts whatever name one of the authentication backends resolves.

A failure is counted under the account the typed name can sign in to, not under the name
itself: otherwise an account's email address, its username and their case variants would
each get AXES_FAILURE_LIMIT guesses of their own."""

from __future__ import annotations

from allauth.account.utils import filter_users_by_email
from django.contrib.auth import get_user_model


def _typed_name(request, credentials: dict | None) -> str | None:
    credentials = credentials or {}
    for key in ("username", "email", "login"):
        value = credentials.get(key)
        if value:
            return str(value).strip()
    data = getattr(request, "POST", None) or {}
    for key in ("login", "username", "email"):
        value = data.get(key)
        if value:
            return str(value).strip()
    return None


def login_account_name(*, name: str) -> str:
    """The name failed logins with ``name`` are counted under: the username of the account
    ``name`` signs in to (by username as ModelBackend, or by email address, in any case, as
    allauth's backend resolves it), else ``name`` lower-cased so that case changes of an
    unknown name do not buy more attempts either. Where an address belongs to more than one
    account, the oldest counts for all of them: one guess tries the password on each."""
    user_model = get_user_model()
    candidates = list(user_model._default_manager.filter(**{user_model.USERNAME_FIELD: name}))
    if not candidates and "@" in name:
        candidates = filter_users_by_email(name)
    if not candidates:
        candidates = list(
            user_model._default_manager.filter(**{f"{user_model.USERNAME_FIELD}__iexact": name})
        )
    if candidates:
        return min(candidates, key=lambda user: user.pk).get_username()
    return name.lower()


def axes_username(request, credentials: dict | None) -> str | None:
    """AXES_USERNAME_CALLABLE: the account a login attempt is counted under."""
    name = _typed_name(request, credentials)
    if not name:
        return None
    return login_account_name(name=name)
