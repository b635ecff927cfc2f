"""Validators for the URLs an entry links to: http or https only, a public host, no
credentials.

Django's URLField accepts ``ftp://`` and ``https://user:password@host/``; a directory that
renders its URLs as links must take neither (a ``javascript:`` or ``data:`` link runs in
the visitor's page; credentials in a link leak them to every visitor). Use on the model
fields so that the admin, the API and the importer refuse the same URLs:

    homepage_url = models.URLField(max_length=500, validators=[validate_public_url])

A host that can only be inside a network (loopback, private and link-local ranges, IP
literals in them in any notation a browser reads, ``localhost``, ``.local``, ``.internal``,
single-label names) is refused when the URL is saved, not only when a worker fetches it:
the directory would otherwise publish, and send its visitors to, addresses of whatever
network they are on. OUTBOUND_ALLOWED_NETWORKS is about fetching and does not apply here.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

ALLOWED_SCHEMES = ("http", "https")
# Names that resolve only inside a network (RFC 6761, RFC 6762, RFC 8375, ICANN's .internal).
INTERNAL_NAMES = ("localhost",)
INTERNAL_SUFFIXES = (
    ".localhost",
    ".local",
    ".internal",
    ".localdomain",
    ".home.arpa",
    ".intranet",
    ".lan",
)
_IPV4_PART = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")


def _legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The address a browser reads in ``host`` when its last label is a number: the
    WHATWG URL standard's IPv4 parser, which takes 2130706433, 0x7f.1 and 0177.0.0.1
    for 127.0.0.1. None when ``host`` is a name; ValueError when it is no valid address."""
    labels = host.split(".")
    if labels[-1] == "" and len(labels) > 1:
        labels.pop()
    if not _IPV4_PART.match(labels[-1]):
        return None
    if len(labels) > 4 or not all(_IPV4_PART.match(label) for label in labels):
        raise ValueError(host)
    numbers = []
    for label in labels:
        if label.startswith("0x"):
            numbers.append(int(label[2:] or "0", 16))
        elif len(label) > 1 and label.startswith("0"):
            numbers.append(int(label, 8))
        else:
            numbers.append(int(label))
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        raise ValueError(host)
    value = last
    for i, n in enumerate(head):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def internal_host_reason(host: str) -> str | None:
    """Why ``host`` (a URL's hostname, without brackets) can only point inside a network,
    or None when it may be public."""
    from projects.sources.http import refusal_reason

    host = host.lower().rstrip(".")
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(
            host.split("%", 1)[0]
        )
    except ValueError:
        try:
            ip = _legacy_ipv4(host)
        except ValueError:
            return f"{host!r} is not a valid address"
    if ip is not None:
        return refusal_reason(ip)
    if host in INTERNAL_NAMES or host.endswith(INTERNAL_SUFFIXES):
        return f"{host!r} is a name for a machine inside a network"
    if "." not in host:
        return f"{host!r} is a single-label name, which only resolves inside a network"
    return None


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
        reason = internal_host_reason(parts.hostname)
        if reason:
            raise ValidationError(f"Enter a public address: {reason}.", code="internal_url")

    def __eq__(self, other) -> bool:
        return isinstance(other, PublicURLValidator)


validate_public_url = PublicURLValidator()


def validate_url_list(value, *, key: str) -> None:
    """Each ``{key: url}`` of a JSON list (other_links' ``url``, additional_repos'
    ``repo_url``) passes validate_public_url; the admin edits these lists as raw JSON."""
    if value in (None, ""):
        return
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ValidationError(f"Enter a list of objects, each with a {key!r}.", code="invalid")
    for position, item in enumerate(value, start=1):
        try:
            validate_public_url(item.get(key))
        except ValidationError as exc:
            raise ValidationError(
                f"Item {position}: {key} {item.get(key)!r}: {exc.messages[0]}", code="invalid_url"
            ) from exc
        if not item.get(key):
            raise ValidationError(f"Item {position} has no {key}.", code="invalid")


# Control, format (zero-width space and joiners, bidi overrides, BOM), private-use,
# surrogate, unassigned, and line/paragraph separator code points.
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}


def validate_entry_name(value) -> None:
    """An entry's name shows what it is: no character that is invisible or moves text."""
    if not isinstance(value, str):
        return
    for char in value:
        if unicodedata.category(char) in _INVISIBLE_CATEGORIES:
            raise ValidationError(
                f"The name contains the invisible or control character U+{ord(char):04X} "
                f"({unicodedata.name(char, 'unnamed')}); names may not hide characters.",
                code="invisible_character",
            )
