"""Cached page fragments with one version for the whole directory.

Every fragment's key carries the current version; saving or deleting an entry, a
category, a repository status or a finding bumps it (projects.web.signals), so a stale
fragment is never read again and simply expires.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from django.core.cache import cache
from django.http import HttpResponse
from django.utils.cache import patch_vary_headers

VERSION_KEY = "web:fragments:version"
FRAGMENT_TIMEOUT = 60 * 60


def current_version() -> int:
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, _fresh(), timeout=None)
        version = cache.get(VERSION_KEY) or _fresh()
    return int(version)


def _fresh() -> int:
    # After an eviction the counter restarts from the clock, never from an old value.
    return time.time_ns() // 1000


def bump_version(*args, **kwargs) -> None:
    """Signal receiver (any arguments): invalidate every cached fragment."""
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # not set yet (or evicted): any new value differs from the old ones
        cache.add(VERSION_KEY, _fresh(), timeout=None)


def fragment_key(name: str, *parts: object) -> str:
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    return f"web:fragment:{name}:v{current_version()}:{digest}"


def cached_fragment(name: str, parts: tuple, render: Callable[[], str]) -> str:
    key = fragment_key(name, *parts)
    html = cache.get(key)
    if html is None:
        html = render()
        cache.set(key, html, FRAGMENT_TIMEOUT)
    return html


def cached_page(request, name: str, build: Callable[[], HttpResponse]) -> HttpResponse:
    """A whole page for a visitor without cookies (nothing personal: no session, no
    messages, no CSRF token), under the same version as the fragments; anyone else, and
    any answer but a 200 without cookies, is built as usual."""
    if request.method != "GET" or request.COOKIES:
        return build()
    key = fragment_key(f"page:{name}", request.get_full_path(), request.headers.get("HX-Request"))
    hit = cache.get(key)
    if hit is not None:
        content, headers = hit
        response = HttpResponse(content)
        for header, value in headers:
            response[header] = value
        patch_vary_headers(response, ("Cookie",))  # what the session would have added
        return response
    response = build()
    if response.status_code == 200 and not response.cookies and not response.streaming:
        kept = [(h, v) for h, v in response.items() if h.lower() in _PAGE_HEADERS]
        cache.set(key, (response.content, kept), FRAGMENT_TIMEOUT)
    return response


_PAGE_HEADERS = {"content-type", "hx-push-url", "vary"}
