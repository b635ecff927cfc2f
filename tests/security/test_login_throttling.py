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
    # Counted under the account, whatever it was called by.
    assert AccessAttempt.objects.get().username == "member"


def test_one_count_per_account_across_both_forms_and_every_name(client, member):
    """The address at allauth's form, the username at the admin's, the address typed into
    the admin's username field (allauth's backend resolves it there too) and case variants
    of each all spend the same AXES_FAILURE_LIMIT guesses."""
    names = [
        (allauth_login, "member@example.org"),
        (admin_login, "member"),
        (admin_login, "Member@Example.org"),
        (allauth_login, "MEMBER@example.org"),
        (admin_login, "MEMBER"),
    ]
    limit = settings.AXES_FAILURE_LIMIT
    statuses = [
        login(client, f"wrong-{attempt}", name).status_code
        for attempt, (login, name) in zip(range(limit), names * limit, strict=False)
    ]
    assert statuses[:-1] == [200] * (limit - 1)
    assert statuses[-1] == 429
    assert AccessAttempt.objects.get().username == "member"
    # Locked out under every name, at either form: the right password opens no session.
    for login, name in ((admin_login, "member"), (allauth_login, "member@example.org")):
        assert login(client, PASSWORD, name).status_code in (200, 429)
        assert "_auth_user_id" not in client.session


def test_a_success_clears_the_count_of_every_name(client, member):
    """A sign-in by username resets failures made with the address (AXES_RESET_ON_SUCCESS):
    the success and the failures are one account's."""
    limit = settings.AXES_FAILURE_LIMIT
    for attempt in range(limit - 1):
        assert allauth_login(client, f"wrong-{attempt}").status_code == 200
    assert admin_login(client, PASSWORD).status_code == 302
    assert not AccessAttempt.objects.filter(failures_since_start__gt=0).exists()
