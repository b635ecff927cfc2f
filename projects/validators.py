"""Validators for the URLs an entry links to: http or https only, a host, no credentials.

Django's URLField accepts ``ftp://`` and ``https://user:password@host/``; a directory that
renders its URLs as links must take neither (a ``javascript:`` or ``data:`` link runs in
the visitor's page; credentials in a link leak them to every visitor). Use on the model
fields so that the admin, the API and the importer refuse the same URLs:

    homepage_url = models.URLField(max_length=500, validators=[validate_public_url])
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

ALLOWED_SCHEMES = ("http", "https")


@deconstructible
class PublicURLValidator:
    message = "Enter an http:// or https:// address without a user name or password."
    code = "invalid_url"

    def __call__(self, value) -> None:
        if value in (None, ""):
            return
        if not isinstance(value, str) or value != value.strip():
            raise ValidationError(self.message, code=self.code)
        if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValidationError(self.message, code=self.code)
        try:
            parts = urlsplit(value)
            port = parts.port  # raises ValueError on a malformed port
        except ValueError:
            raise ValidationError(self.message, code=self.code) from None
        del port
        if parts.scheme.lower() not in ALLOWED_SCHEMES or not parts.hostname:
            raise ValidationError(self.message, code=self.code)
        if "@" in parts.netloc or parts.username is not None or parts.password is not None:
            raise ValidationError(self.message, code=self.code)
        if "\\" in value:
            # Browsers read "https://a.example\@evil.example" as a path on evil.example.
            raise ValidationError(self.message, code=self.code)

    def __eq__(self, other) -> bool:
        return isinstance(other, PublicURLValidator)


validate_public_url = PublicURLValidator()
