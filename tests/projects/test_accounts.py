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


HOSTILE = {"HTTP_HOST": "localhost:1", "HTTP_X_FORWARDED_PROTO": "https"}


def test_mailed_links_start_with_site_url_whatever_the_host(client, settings):
    # Issue 19: a link built from the Host header would send its key to the client's host.
    settings.SITE_URL = "https://landscape.example/dir"
    settings.ALLOWED_HOSTS = ["testserver", "localhost"]
    client.post(
        "/accounts/signup/",
        {
            "email": "new@example.org",
            "password1": "a-long-pass-phrase-9",
            "password2": "a-long-pass-phrase-9",
        },
        **HOSTILE,
    )
    client.logout()
    from allauth.account.models import EmailAddress

    EmailAddress.objects.filter(email="new@example.org").update(verified=True, primary=True)
    client.post("/accounts/password/reset/", {"email": "new@example.org"}, **HOSTILE)
    confirm, reset = mail.outbox
    assert re.search(r"https://landscape\.example/dir/accounts/confirm-email/\S+", confirm.body)
    assert re.search(r"https://landscape\.example/dir/accounts/password/reset/key/\S+", reset.body)
    for message in (confirm, reset):
        assert "localhost" not in message.body + message.subject
        assert "landscape.example" in message.subject
