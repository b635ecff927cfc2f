"""ETag, Last-Modified and Cache-Control for the API's reads, computed from a few aggregates
(never by rendering the body), so that a conditional GET answers 304 cheaply.

What a representation shows comes from entries, their repository statuses, findings,
maintainers and categories; the validators combine the newest change time and the row
count of each (a deletion changes a count), the query string, the representation chosen
and who is asking (staff and submitters see more than the public).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Max
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.http import http_date
from rest_framework.response import Response

from projects.models import Category, Finding, Maintainer, RepositoryStatus

PUBLIC_MAX_AGE = 60
# How long validators and anonymous list bodies are kept under one data version (as the
# web fragments): every save or delete the representations read bumps the version
# (projects.web.signals); this bounds what a bulk write that sends no signal leaves stale.
CACHE_TIMEOUT = 60 * 60


@dataclass(frozen=True)
class Validators:
    etag: str
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


def queryset_validators(request, queryset) -> Validators:
    """For a list: the filtered entries' newest change and count, and the related tables."""
    own = queryset.order_by().aggregate(updated=Max("updated"), n=Count("pk", distinct=True))
    related = _related_state(None)
    return _build(
        request,
        (own["updated"], own["n"], related),
        [own["updated"], related[0], related[2], related[3], related[6]],
    )


def object_validators(request, project) -> Validators:
    related = _related_state(project.pk)
    return _build(
        request,
        (project.pk, project.updated, related),
        [project.updated, related[0], related[2], related[3], related[6]],
    )


def global_validators(request, queryset) -> Validators:
    """For the aggregates (categories, stats, findings, exports): same as a list."""
    return queryset_validators(request, queryset)


def _cache_key(kind: str, request) -> str:
    from projects.web.cache import current_version

    media = getattr(request, "accepted_media_type", "") or ""
    parts = repr((request.get_full_path(), media, _audience(request)))
    return f"api:{kind}:v{current_version()}:{hashlib.sha256(parts.encode()).hexdigest()[:32]}"


def cached_validators(request, compute) -> Validators:
    """``compute()``'s validators, kept in the cache under the current data version: a
    conditional GET that still holds is answered without a query over the entries."""
    key = _cache_key("validators", request)
    hit = cache.get(key)
    if hit is not None:
        return Validators(*hit)
    validators = compute()
    cache.set(key, (validators.etag, validators.last_modified), CACHE_TIMEOUT)
    return validators


def cached_body(request, validators: Validators, compute):
    """The data of an anonymous read, kept under its ETag (which names the query, the
    representation and the data state); others' reads are computed every time."""
    if request.user.is_authenticated:
        return compute()
    key = f"api:body:{validators.etag.strip(chr(34))}"
    data = cache.get(key)
    if data is None:
        data = compute()
        cache.set(key, data, CACHE_TIMEOUT)
    return data


def not_modified(request, validators: Validators) -> Response | None:
    """A 304 (or 412) for a conditional GET whose validators still hold, else None."""
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
    response["ETag"] = validators.etag
    if validators.last_modified is not None:
        response["Last-Modified"] = http_date(validators.last_modified.timestamp())
    if request.user.is_authenticated:
        response["Cache-Control"] = "private, no-cache"
    else:
        response["Cache-Control"] = f"public, max-age={PUBLIC_MAX_AGE}"
    patch_vary_headers(response, ("Accept", "Authorization", "Cookie"))
    return response
