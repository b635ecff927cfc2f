"""ETag, Last-Modified and Cache-Control for the API's reads (never computed by rendering
the body), so that a conditional GET answers 304 cheaply.

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

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.http import http_date
from rest_framework.response import Response

from projects.models import Category, Finding, Maintainer, RepositoryStatus
from projects.web.cache import read_version, version_time
from projects.web.kept import keeps_anonymous_reads

PUBLIC_MAX_AGE = 60


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
    # SITE_URL: every absolute link in the body starts with it (landscape.site).
    key = repr((parts, request.get_full_path(), media, _audience(request), settings.SITE_URL))
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
    key = repr(("version", version, path, media, audience, settings.SITE_URL))
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def version_validators(request, version: int | None, *, media: str | None = None) -> Validators:
    """A list's validators under the data ``version`` (None: unknown, no validators), for
    the representation ``media`` (by default, the one DRF chose for the request)."""
    if version is None:
        return Validators(etag=None, last_modified=None)
    if media is None:
        media = getattr(request, "accepted_media_type", "") or ""
    etag = _version_etag(version, request.get_full_path(), media, _audience(request))
    return Validators(etag=etag, last_modified=version_time(version))


def list_validators(request) -> Validators:
    """For a read whose body is not kept (exports, the browsable API): one cache read."""
    return version_validators(request, read_version())


def respond(request, view, compute: Callable[[], object]) -> Response:
    """A list or a directory-wide read: 304 when the client's validators hold, else
    ``compute()``'s data. (An anonymous read's whole answer is kept and given again before
    DRF until the version moves: projects.web.kept.)"""
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


class KeptReadsMixin:
    """For views whose reads hang on the data version (lists, categories, stats): their
    anonymous reads are kept whole and answered before DRF (projects.web.kept). The
    rendering depends on the Accept header (a media type, indent=...), so it is keyed."""

    @classmethod
    def as_view(cls, *args, **kwargs):
        return keeps_anonymous_reads(super().as_view(*args, **kwargs), keyed_on=("Accept",))
