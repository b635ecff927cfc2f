"""Whole answers kept for visitors without credentials or cookies, under the data version.

A GET with no Authorization header and no cookie is answered alike for everyone: the
user is anonymous, there is no session, no message to show and no CSRF token of the
visitor's own in the page. So the answer a view marked with ``keeps_anonymous_reads``
gave to one such read of a path (and of the request headers the view names, e.g. Accept
for the API, HX-Request for a page htmx swaps in) is kept whole, body and headers, under
the data version read before the view ran (projects.web.cache), and given again to the
next such read until the version moves: from the worker's own copy (projects.web.near),
else from one shared-cache read.

KeptAnswerMiddleware does it. It sits after the middleware that sets headers on every
answer (security, CSP, CORS, WhiteNoise) and before those that only matter to a visitor
with a session or credentials (sessions, CSRF, authentication, messages, allauth,
history, htmx, axes), which a kept answer skips; the headers they added to the original
answer (Vary, X-Frame-Options) are kept with it. A DRF view's throttles still count the
reads answered here (a refusal is left to the view, which answers the 429).

A view may also answer such a read itself before the rest of the stack, kept or not
(``answers_anonymous_reads``, a function of the request, the data version and the view,
giving the whole answer or None): the API's public list pages by stars (api.public_list).

Never kept: any answer but a 200, a streamed answer, and an answer that sets a cookie.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.http import HttpResponse
from django.urls import Resolver404, resolve
from django.utils.cache import get_conditional_response
from django.utils.http import parse_http_date_safe

from projects.web import near
from projects.web.cache import read_version, version_time

# Every save or delete bumps the version, which makes a kept answer stale at once; this
# bounds what a bulk write that sends no signal and no bump_version() leaves behind.
TIMEOUT = 60 * 60
KEPT_HEADERS = {
    "allow",
    "cache-control",
    "content-type",
    "etag",
    "hx-push-url",
    "last-modified",
    "vary",
    "x-frame-options",
}
CONDITIONAL_HEADERS = (
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_MATCH",
    "HTTP_IF_UNMODIFIED_SINCE",
)


def keeps_anonymous_reads(view=None, *, keyed_on: tuple[str, ...] = ()):
    """Mark a view (a function, or what a class's as_view() returns) whose anonymous GETs
    depend only on the path, the data version and the ``keyed_on`` request headers."""

    def mark(func):
        func.kept_key_headers = tuple("HTTP_" + name.upper().replace("-", "_") for name in keyed_on)
        return func

    return mark(view) if view is not None else mark


def plain_anonymous_read(request) -> bool:
    return (
        request.method == "GET" and not request.COOKIES and "HTTP_AUTHORIZATION" not in request.META
    )


class KeptAnswerMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        view = _keeping_view(request) if plain_anonymous_read(request) else None
        if view is None:
            return self.get_response(request)
        version = near.version(read_version)  # None: the cache cannot say what is current
        key = _key(request, view.kept_key_headers) if version is not None else None
        if key is not None and (kept := _serve(request, key, version)) is not None:
            # What the authentication middleware would have set: no credentials, no user.
            request.user = AnonymousUser()
            if _throttles_allow(view, request):
                return kept
            return self.get_response(request)
        response = _answer_here(view, request, version) or self.get_response(request)
        if key is not None:
            _keep(key, version, response)
        return response


def _answer_here(view, request, version: int | None):
    """The view's own answer to such a read without the rest of the stack, when it gives
    one (``answers_anonymous_reads``: the API's public list pages by stars), else None.
    Throttles count it once it is made; a refusal is left to the view (its 429)."""
    answer = getattr(view, "answers_anonymous_reads", None)
    if answer is None:
        return None
    request.user = AnonymousUser()
    response = answer(request, version=version, view=view)
    if response is None or not _throttles_allow(view, request):
        return None
    return response


def _keeping_view(request):
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return None
    return match.func if hasattr(match.func, "kept_key_headers") else None


def _last_modified(headers, version: int) -> int:
    """The kept answer's own Last-Modified, in whole seconds, as its view compared it: an
    entry's answer is as old as the entry's last change, older than the data version. The
    version's time only for an answer that names none."""
    stated = next((value for name, value in headers if name.lower() == "last-modified"), None)
    moment = parse_http_date_safe(stated) if stated else None
    return moment if moment is not None else int(version_time(version).timestamp())


def _key(request, headers: tuple[str, ...]) -> str:
    # Everything the answer is built from besides the data: the path and query, the headers
    # the view names and SITE_URL (its links' start). Not Host or X-Forwarded-Proto: no
    # answer reads them (landscape.site), so they cannot reach a kept answer.
    parts = "\n".join(
        [
            settings.SITE_URL,
            request.get_full_path(),
            *(request.META.get(h, "") for h in headers),
        ]
    )
    return f"kept:{hashlib.sha256(parts.encode()).hexdigest()[:32]}"


def _serve(request, key: str, version: int) -> HttpResponse | None:
    hit = near.get(key, version)
    if hit is None:
        stored = cache.get(key)
        if not (isinstance(stored, tuple) and len(stored) == 4 and stored[0] == version):
            return None  # nothing kept, or kept under an older version
        hit = stored
        near.put(key, version, hit, len(hit[2]))
    _, etag, content, headers = hit
    # An answer without validators (a page) ignores conditional headers, as its view does.
    if etag and any(h in request.META for h in CONDITIONAL_HEADERS):
        answer = get_conditional_response(
            request, etag=etag, last_modified=_last_modified(headers, version)
        )
        if answer is not None and answer.status_code != 304:
            return None  # a failed precondition (412): the view's own answer
        if answer is not None:
            response = HttpResponse(status=304)
            for header, value in headers:
                if header.lower() != "content-type":
                    response[header] = value
            return response
    response = HttpResponse(content)
    for header, value in headers:
        response[header] = value
    response["Content-Length"] = str(len(content))  # CommonMiddleware's, which is skipped
    return response


def _keep(key: str, version: int, response) -> None:
    if response.status_code != 200 or response.streaming or response.cookies:
        return
    headers = [(h, v) for h, v in response.items() if h.lower() in KEPT_HEADERS]
    value = (version, response.get("ETag"), response.content, headers)
    cache.set(key, value, TIMEOUT)
    near.put(key, version, value, len(response.content))


def _throttles_allow(view, request) -> bool:
    view_class = getattr(view, "cls", None)  # a DRF view's class; plain views have none
    if view_class is None:
        return True
    instance = view_class()
    return all(throttle.allow_request(request, instance) for throttle in instance.get_throttles())
