"""ETag, Last-Modified and Cache-Control for the API's reads (never computed by rendering
the body), so that a conditional GET answers 304 cheaply, and the whole answers to
anonymous reads, kept so that a repeated read costs no more than a lookup.

Lists and the directory-wide reads (categories, stats, findings, exports) hang on the
directory's data version (projects.web.cache): every save or delete of an entry, a
category, a repository status, a finding, a maintainer or a second_path row bumps it, and
services bump it after bulk writes. Their ETag combines that version with the full path,
the representation chosen and who is asking (staff and submitters see more than the
public); their Last-Modified is the time of the last bump. No query runs over the entries.
When the cache cannot give the version (Redis away), these reads carry no validators and
are computed every time: never a 304 on an ETag that might be stale.

One entry's validators still come from the entry and its related rows (a few indexed
queries): the newest change time and the row count of each (a deletion changes a count).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.http import http_date
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from projects.models import Category, Finding, Maintainer, RepositoryStatus
from projects.web import near
from projects.web.cache import read_version, version_time

PUBLIC_MAX_AGE = 60
# How long an anonymous list body is kept (as the web fragments): every save or delete the
# representations read bumps the version (projects.web.signals), which makes it stale at
# once; this bounds what a bulk write that sends no signal and no bump_version() leaves.
CACHE_TIMEOUT = 60 * 60
CONDITIONAL_HEADERS = (
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_MATCH",
    "HTTP_IF_UNMODIFIED_SINCE",
)


@dataclass(frozen=True)
class Validators:
    # None when nothing can be said (the data version is unknown): no 304, no ETag header.
    etag: str | None
    last_modified: datetime | None


def _related_state(project_id: int | None) -> tuple:
    """One query: newest change and row count of everything an entry's JSON reads."""
    q = connection.ops.quote_name
    rs, fi, ma, ca = (
        q(m._meta.db_table) for m in (RepositoryStatus, Finding, Maintainer, Category)
    )
    where = "WHERE project_id = %s" if project_id is not None else ""
    where_and = "AND project_id = %s" if project_id is not None else ""
    sql = (
        f"SELECT (SELECT MAX(checked_at) FROM {rs} {where}),"  # noqa: S608 - table names only
        f" (SELECT COUNT(*) FROM {rs} {where}),"
        f" (SELECT MAX(last_seen) FROM {fi} {where}),"
        f" (SELECT MAX(resolved_at) FROM {fi} {where}),"
        f" (SELECT COUNT(*) FROM {fi} WHERE state = 'open' {where_and}),"
        f" (SELECT COUNT(*) FROM {ma} WHERE verified {where_and}),"
        f" (SELECT MAX(created) FROM {ma} {where}),"
        f" (SELECT COUNT(*) FROM {ca}), (SELECT MAX(id) FROM {ca})"
    )
    params = [project_id] * 7 if project_id is not None else []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return tuple(cursor.fetchone())


def _as_datetime(value) -> datetime | None:
    # SQLite returns text from raw MAX() over datetimes; PostgreSQL returns datetimes.
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _audience(request) -> str:
    user = request.user
    if not user.is_authenticated:
        return "anon"
    from projects.permissions import is_moderator

    return "staff" if is_moderator(user) else f"user:{user.pk}"


def _build(request, parts: tuple, times: list) -> Validators:
    media = getattr(request, "accepted_media_type", "") or ""
    key = repr((parts, request.get_full_path(), media, _audience(request)))
    etag = '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'
    moments = [t for t in (_as_datetime(v) for v in times) if t is not None]
    return Validators(etag=etag, last_modified=max(moments) if moments else None)


def object_validators(request, project) -> Validators:
    related = _related_state(project.pk)
    return _build(
        request,
        (project.pk, project.updated, related),
        [project.updated, related[0], related[2], related[3], related[6]],
    )


# --- Lists and directory-wide reads: the data version -----------------------------------------


def _version_etag(version: int, path: str, media: str, audience: str) -> str:
    key = repr(("version", version, path, media, audience))
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def version_validators(request, version: int | None) -> Validators:
    """A list's validators under the data ``version`` (None: unknown, no validators)."""
    if version is None:
        return Validators(etag=None, last_modified=None)
    media = getattr(request, "accepted_media_type", "") or ""
    etag = _version_etag(version, request.get_full_path(), media, _audience(request))
    return Validators(etag=etag, last_modified=version_time(version))


def list_validators(request) -> Validators:
    """For a read whose body is not kept (exports, the browsable API): one cache read."""
    return version_validators(request, read_version())


def _conditional(request) -> bool:
    meta = request.META
    return any(header in meta for header in CONDITIONAL_HEADERS)


def respond(request, view, compute: Callable[[], object]) -> Response:
    """A list or a directory-wide read: 304 when the client's validators hold, else
    ``compute()``'s data. (An anonymous read's whole answer is kept by keep() below, which
    answers it again before DRF until the version moves.)"""
    validators = list_validators(request)
    if (response := not_modified(request, validators)) is not None:
        return response
    return apply_headers(request, Response(compute()), validators)


def not_modified(request, validators: Validators) -> Response | None:
    """A 304 (or 412) for a conditional GET whose validators still hold, else None (always
    None without validators: an unknown data version never answers from the client's copy)."""
    if validators.etag is None:
        return None
    # HTTP dates have whole seconds: compare on those, or If-Modified-Since never matches.
    timestamp = int(validators.last_modified.timestamp()) if validators.last_modified else None
    response = get_conditional_response(
        request, etag=validators.etag, last_modified=timestamp, response=None
    )
    if response is None:
        return None
    result = Response(status=response.status_code)
    return apply_headers(request, result, validators)


def apply_headers(request, response, validators: Validators):
    if validators.etag is not None:
        response["ETag"] = validators.etag
    if validators.last_modified is not None:
        response["Last-Modified"] = http_date(validators.last_modified.timestamp())
    if request.user.is_authenticated:
        response["Cache-Control"] = "private, no-cache"
    else:
        response["Cache-Control"] = f"public, max-age={PUBLIC_MAX_AGE}"
    patch_vary_headers(response, ("Accept", "Authorization", "Cookie"))
    return response


# --- Anonymous reads, answered before DRF -----------------------------------------------------
#
# A visitor without credentials (no Authorization header, no session cookie) is "anon" to
# DRF, so what DRF answered one such read of a path, with the same Accept header, under
# the same data version, is what it would answer again: that answer is kept whole (body and
# headers) and given before DRF's request wrapping, authentication, negotiation and
# throttles, from the worker's own copy (projects.web.near) or one shared-cache read. Only
# answers rendered by the JSON renderer are kept (not the browsable API, CSV or YAML). The
# view's throttles still count them (a refusal is left to DRF, which answers the 429).

_KEPT_HEADERS = {"content-type", "allow", "vary", "cache-control", "etag", "last-modified"}


def plain_anonymous_read(request) -> bool:
    """A GET that carries no credentials: DRF would see an anonymous user."""
    return (
        request.method == "GET"
        and "HTTP_AUTHORIZATION" not in request.META
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
    )


def _kept_key(request) -> str:
    # The rendering depends on the Accept header (a media type, indent=...), so it is keyed.
    parts = f"{request.get_full_path()}\n{request.META.get('HTTP_ACCEPT', '')}"
    return f"api:kept:{hashlib.sha256(parts.encode()).hexdigest()[:32]}"


def serve_kept(request) -> HttpResponse | None:
    """The kept answer to this read (200), or a 304 when the client's copy still holds;
    None when neither can be told from the cache (then DRF answers)."""
    key = _kept_key(request)
    version = near.version(read_version)
    if version is None:
        return None
    hit = near.get(key, version)
    if hit is None:
        stored = cache.get(key)
        if not (isinstance(stored, tuple) and len(stored) == 4 and stored[0] == version):
            return None  # nothing kept, or kept under an older version
        hit = stored
        near.put(key, version, hit, len(hit[2]))
    _, etag, content, headers = hit
    if _conditional(request):
        moment = int(version_time(version).timestamp())
        answer = get_conditional_response(request, etag=etag, last_modified=moment)
        if answer is None:
            pass
        elif answer.status_code == 304:
            response = HttpResponse(status=304)
            for header, value in headers:
                if header.lower() != "content-type":
                    response[header] = value
            return response
        else:  # a failed precondition (412): DRF's own answer
            return None
    response = HttpResponse(content)
    for header, value in headers:
        response[header] = value
    return response


def keep(request, response) -> None:
    """Keep an anonymous read's final JSON answer (body and headers) when its ETag is the
    data version's: what serve_kept() gives back until the version moves."""
    etag = response.get("ETag")
    renderer = getattr(response, "accepted_renderer", None)
    if (
        response.status_code != 200
        or not etag
        or getattr(response, "streaming", False)
        or not isinstance(renderer, JSONRenderer)
    ):
        return
    version = near.version(read_version)
    media = getattr(response, "accepted_media_type", "") or ""
    if version is None or etag != _version_etag(version, request.get_full_path(), media, "anon"):
        return  # an entry's own validators, or the data moved meanwhile
    if not getattr(response, "is_rendered", True):
        response.render()
    headers = [(h, v) for h, v in response.items() if h.lower() in _KEPT_HEADERS]
    value = (version, etag, response.content, headers)
    key = _kept_key(request)
    cache.set(key, value, CACHE_TIMEOUT)
    near.put(key, version, value, len(response.content))


def _throttles_allow(view_class, request) -> bool:
    instance = view_class()
    return all(throttle.allow_request(request, instance) for throttle in instance.get_throttles())


def keep_anonymous_reads(view):
    """Wrap a DRF view: anonymous reads are answered from what keep() kept."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        plain = plain_anonymous_read(request)
        kept = serve_kept(request) if plain else None
        # Counted by the throttles only when answered here; DRF counts the others.
        if kept is not None and _throttles_allow(view.cls, request):
            return kept
        response = view(request, *args, **kwargs)
        if plain:
            keep(request, response)
        return response

    return wrapped


class KeptReadsMixin:
    """For views whose reads hang on the data version (lists, categories, stats)."""

    @classmethod
    def as_view(cls, *args, **kwargs):
        return keep_anonymous_reads(super().as_view(*args, **kwargs))
