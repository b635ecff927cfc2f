"""allauth's account adapter: user names that say nothing of the email address, and the
client address every other limit uses."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter

from landscape.client_ip import client_ip


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
