"""Login throttling (django-axes) for both ways in: the admin's form posts ``username``,
allauth's form posts ``login`` and authenticates with ``email=`` (or ``username=``)."""

from __future__ import annotations


def axes_username(request, credentials: dict | None) -> str | None:
    """The name a failed login is counted under, lower-cased so that case changes do not
    buy an attacker more attempts."""
    credentials = credentials or {}
    for key in ("username", "email", "login"):
        value = credentials.get(key)
        if value:
            return str(value).strip().lower()
    data = getattr(request, "POST", None) or {}
    for key in ("login", "username", "email"):
        value = data.get(key)
        if value:
            return str(value).strip().lower()
    return None
