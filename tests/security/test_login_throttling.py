"""Login throttling (django-axes): AXES_FAILURE_LIMIT bad passwords for one account from one
address lock that pair out, through allauth's sign-in form and the admin's, and then even
the right password is refused until the cool-off."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db

PASSWORD = "the-Right-password-1234"


@pytest.fixture
def member(db):
    user = get_user_model().objects.create_user(
        "member", "member@example.org", PASSWORD, is_staff=True
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def allauth_login(client, password: str, email: str = "member@example.org"):
    return client.post("/accounts/login/", {"login": email, "password": password})


def admin_login(client, password: str, username: str = "member"):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password})


def test_the_settings_put_axes_first():
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"
    assert settings.AXES_FAILURE_LIMIT >= 3


@pytest.mark.parametrize("login", [allauth_login, admin_login], ids=["allauth", "admin"])
def test_repeated_bad_passwords_lock_the_account_out(client, member, login):
    # The control: the right password works before any failure.
    assert login(client, PASSWORD).status_code == 302
    client.logout()

    limit = settings.AXES_FAILURE_LIMIT
    for attempt in range(1, limit):
        response = login(client, f"wrong-{attempt}")
        assert response.status_code == 200, attempt  # the form again, with an error
    locked = login(client, "wrong-last")
    assert locked.status_code == 429
    assert b"locked" in locked.content.lower()
    # Locked: the right password is refused too, and no session is opened. (allauth's own
    # limiter, in the cache, may answer first with its form error; axes, in the database,
    # holds even while Redis is away.)
    again = login(client, PASSWORD)
    assert again.status_code in (200, 429)
    assert "_auth_user_id" not in client.session
    assert AccessAttempt.objects.get().failures_since_start >= limit


def test_the_lockout_is_per_account_and_address(client, member):
    other = get_user_model().objects.create_user("bystander", "by@example.org", PASSWORD)
    EmailAddress.objects.create(user=other, email=other.email, verified=True, primary=True)
    statuses = [
        allauth_login(client, f"wrong-{attempt}").status_code
        for attempt in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert statuses[-1] == 429
    # Someone else signing in from the same address is not locked out with the target.
    assert allauth_login(client, PASSWORD, email="by@example.org").status_code == 302


def test_the_count_is_case_insensitive(client, member):
    """Changing the case of the address does not buy more attempts."""
    statuses = [
        allauth_login(
            client,
            f"wrong-{attempt}",
            email="member@example.org" if attempt % 2 else "MEMBER@Example.org",
        ).status_code
        for attempt in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert statuses[-1] == 429
    assert AccessAttempt.objects.get().username == "member@example.org"
