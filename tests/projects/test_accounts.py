"""Accounts: email verification is required; password reset mails a link."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

pytestmark = pytest.mark.django_db


def test_signing_up_sends_a_verification_link_and_blocks_login_until_verified(client):
    response = client.post(
        "/accounts/signup/",
        {
            "email": "new@example.org",
            "password1": "a-long-pass-phrase-9",
            "password2": "a-long-pass-phrase-9",
        },
    )
    assert response.status_code == 302
    assert "/accounts/confirm-email/" in mail.outbox[0].body
    client.logout()
    response = client.post(
        "/accounts/login/", {"login": "new@example.org", "password": "a-long-pass-phrase-9"}
    )
    assert response.status_code == 302
    assert response["Location"].endswith("/accounts/confirm-email/")  # not signed in yet
    assert client.get("/accounts/me/").status_code == 302


def test_password_reset_mails_a_link(client):
    get_user_model().objects.create_user("u", "u@example.org", "old-pass-phrase-77")
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(
        user=get_user_model().objects.get(), email="u@example.org", verified=True, primary=True
    )
    response = client.post("/accounts/password/reset/", {"email": "u@example.org"})
    assert response.status_code == 302
    assert re.search(r"/accounts/password/reset/key/\S+", mail.outbox[0].body)


def test_the_account_page_needs_a_signed_in_user(client):
    response = client.get("/accounts/me/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
