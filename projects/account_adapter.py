"""allauth's account adapter: user names that say nothing of the email address."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    def generate_unique_username(self, txts: list[str | None], regex: str | None = None) -> str:
        # allauth would take the email's local part ("jane.doe" of jane.doe@example.org), and a
        # maintainer's user name is public (their entries' pages and API) where they have no
        # full name: the email is only for the curators. Names, a GitHub login or "user" it is.
        return super().generate_unique_username(
            [text for text in txts if text and "@" not in text], regex
        )
