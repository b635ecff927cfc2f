"""allauth's account adapter: user names that say nothing of the email address, the client
address every other limit uses, and mails whose links start with SITE_URL (landscape.site),
never with the request's Host: a confirmation or password-reset link built from the Host
would send its key to whatever host the client named."""

from __future__ import annotations

from urllib.parse import urlsplit

from allauth.account import app_settings as allauth_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.conf import settings
from django.utils.encoding import force_str

from landscape.client_ip import client_ip
from landscape.site import SiteAddressed


class _SiteOfSiteURL:
    """What allauth's mails name as the site (``current_site``): SITE_URL's host, never the
    request's (get_current_site() without the sites framework reads the Host header)."""

    def __init__(self):
        self.domain = self.name = urlsplit(settings.SITE_URL).netloc


class AccountAdapter(DefaultAccountAdapter):
    def generate_unique_username(self, txts: list[str | None], regex: str | None = None) -> str:
        # allauth would take the email's local part ("jane.doe" of jane.doe@example.org), and a
        # maintainer's user name is public (their entries' pages and API) where they have no
        # full name: the email is only for the curators. Names, a GitHub login or "user" it is.
        return super().generate_unique_username(
            [text for text in txts if text and "@" not in text], regex
        )

    def get_client_ip(self, request) -> str:
        # allauth's own rate limits (login failures, password resets, sign-ups) count by the
        # same address as every other limit, not by its own reading of X-Forwarded-For.
        return client_ip(request)

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        super().send_mail(template_prefix, email, {"current_site": _SiteOfSiteURL(), **context})

    def format_email_subject(self, subject: str) -> str:
        if allauth_settings.EMAIL_SUBJECT_PREFIX is not None:
            return super().format_email_subject(subject)
        return f"[{_SiteOfSiteURL().name}] {force_str(subject)}"

    def get_email_confirmation_url(self, request, emailconfirmation) -> str:
        request = request if request is not None else allauth_context.request
        return super().get_email_confirmation_url(SiteAddressed(request), emailconfirmation)

    def get_reset_password_from_key_url(self, key: str) -> str:
        from allauth.account.internal import flows

        request = SiteAddressed(self.request)
        return flows.password_reset.get_reset_password_from_key_url(request, key)
