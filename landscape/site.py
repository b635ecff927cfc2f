"""The site's own absolute URLs, from ``settings.SITE_URL`` alone.

Every absolute link the site writes (the API's ``url``, ``html_url``, ``logo_url`` and
``badge_url``, its ``next`` and ``previous`` links, the feed, the badge snippet, the links
in mails) is built here, never from the request's Host or X-Forwarded-Proto: those are
whatever the client sends, and answers are kept and given to other visitors (the page
cache, the answers kept whole, the stored entry bodies), so a link built from them would
carry one visitor's Host to every later one.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.urls import get_script_prefix
from django.utils.encoding import iri_to_uri


def site_root() -> str:
    """SITE_URL without its trailing slash: the scheme, the host and any path prefix the
    site is served under (what reverse()'s paths are appended to)."""
    return settings.SITE_URL.rstrip("/")


def site_url(path: str) -> str:
    """The absolute URL of ``path``, a path as reverse() or a storage's url() gives it
    (an absolute URL, e.g. under a MEDIA_URL on another host, is returned as it is).

    The script prefix a WSGI server put in front of reverse()'s paths (SCRIPT_NAME) is
    SITE_URL's own path prefix, so it is not written twice."""
    bits = urlsplit(path)
    if bits.scheme:
        return iri_to_uri(path)
    if bits.netloc:  # "//cdn.example/...": SITE_URL's scheme, as a browser would read it
        return iri_to_uri(f"{urlsplit(settings.SITE_URL).scheme}:{path}")
    if not path.startswith("/"):
        path = "/" + path
    prefix = get_script_prefix()
    if prefix != "/" and path.startswith(prefix):
        path = path[len(prefix) - 1 :]
    return iri_to_uri(site_root() + path)


class SiteAddressed:
    """A request whose ``build_absolute_uri()`` writes SITE_URL rather than its Host and
    X-Forwarded-Proto, for the code of others that builds links with it: DRF's paginator
    (next, previous, the browsable API's page controls) and its router's API root."""

    def __init__(self, request):
        self._request = request

    def build_absolute_uri(self, location=None):
        if location is None:  # the request's own path, never read as a host ("//host/...")
            location = "/" + self._request.get_full_path().lstrip("/")
        return site_url(location)

    def __getattr__(self, name):
        return getattr(self._request, name)
