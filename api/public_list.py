"""The public's list pages by stars, written from stored entry bodies.

An anonymous read of the entry list ordered by ``-stars``, filtered by category and health
only, asking for JSON as it is (the renderer's own media type, no indent): its page is
the Listing rows' ids, their bodies as the triggers stored them (api/entry_body_sql.py)
and the count from FacetCount, read in one statement and joined into DRF's envelope,
with no model instance, serializer or renderer on the way.

Anything else returns None and the serializer's path answers, with its own 400 or 404: a
parameter this path does not read, a value the filters would refuse or that they would
read another way (an empty value, a repeated one), a page out of range, an entry whose
body is not ``plain``. tests/api/test_public_list.py checks that both paths give the same
JSON and the same headers.
"""

from __future__ import annotations

import json
import re

from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from django.urls import get_script_prefix
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.urls import remove_query_param, replace_query_param

from api import caching
from api.entry_body_sql import MARKERS
from api.selectors import stored_page
from api.serializers import (
    _LOGO_STORAGE,
    _SLUG_PLACEHOLDER,
    ProjectRepresentation,
    representations_from_rows,
)
from projects.models import Health
from projects.selectors import ListParams

PARAMETERS = {"category", "health", "ordering", "page", "page_size"}
_NUMBER = re.compile(r"[1-9][0-9]{0,8}")
_HEALTH = frozenset(Health.values)


def _single(query, name: str) -> str | None:
    """The parameter's one value ('' when absent); None when it is repeated."""
    values = query.getlist(name)
    if len(values) > 1:
        return None
    return values[0] if values else ""


def _number(query, name: str, default: int) -> int | None:
    value = _single(query, name)
    if value == "":
        return default if name not in query else None
    return int(value) if value is not None and _NUMBER.fullmatch(value) else None


def _list_params(query) -> ListParams | None:
    category = _single(query, "category")
    if category is None or ("category" in query and not category):
        return None
    health: list[str] = []
    for value in query.getlist("health"):
        parts = [part.strip() for part in value.split(",")]
        if not all(part in _HEALTH for part in parts):
            return None
        health += parts
    # The API lists archived entries unless maturity says otherwise (api.filters).
    return ListParams(category=category, health=tuple(health), show_archived=True)


def _json_text(value: str | None) -> str:
    return json.dumps(value, ensure_ascii=False)


# Marker values by what they depend on: the request's scheme and host, the script prefix,
# the URLconf and MEDIA_URL (a few keys in practice; cleared if it ever grows).
_MARKERS: dict[tuple, list[bytes] | None] = {}


def _marker_values(request) -> list[bytes] | None:
    """What each marker of a stored body stands for in this request, JSON-escaped."""
    key = (
        request.build_absolute_uri("/"),
        get_script_prefix(),
        getattr(request, "urlconf", None) or settings.ROOT_URLCONF,
        settings.MEDIA_URL,
    )
    if key not in _MARKERS:
        if len(_MARKERS) >= 64:
            _MARKERS.clear()
        _MARKERS[key] = _compute_markers(request)
    return _MARKERS[key]


def _compute_markers(request) -> list[bytes] | None:
    urls = ProjectRepresentation(request)
    logo = urls.absolute(_LOGO_STORAGE.url(_SLUG_PLACEHOLDER))
    logo_start, found, logo_end = logo.rpartition(_SLUG_PLACEHOLDER)
    parts = (urls.url_parts, urls.html_url_parts, urls.badge_url_parts)
    if None in parts or not found or logo_end:
        return None
    values = [*parts[0], *parts[1], *parts[2], logo_start]
    return [_json_text(value)[1:-1].encode() for value in values]


def public_list_response(request, *, pagination) -> HttpResponse | None:
    """The answer to a read this path can give (see the module), else None."""
    if (
        not settings.API_LIST_STORED_BODIES
        or connection.vendor != "postgresql"
        or request.user.is_authenticated
        or type(request.accepted_renderer) is not JSONRenderer
        or request.accepted_media_type != JSONRenderer.media_type
        or not representations_from_rows()
    ):
        return None
    query = request.query_params
    if not set(query) <= PARAMETERS or query.getlist("ordering") != ["-stars"]:
        return None
    params = _list_params(query)
    size = _number(query, "page_size", pagination.page_size)
    number = _number(query, "page", 1)
    if params is None or size is None or size > pagination.max_page_size or number is None:
        return None
    markers = _marker_values(request)
    if markers is None:
        return None

    validators = caching.list_validators(request)
    if (response := caching.not_modified(request, validators)) is not None:
        return response
    page = stored_page(params, offset=(number - 1) * size, limit=size)
    last = max(1, -(-page.count // size))
    expected = max(0, min(size, page.count - (number - 1) * size))
    if (
        not page.category_known
        or number > last
        or len(page.bodies) != expected
        or not all(plain for plain, _body in page.bodies)
    ):
        return None

    # In bytes: replacing in UTF-8 bytes is several times faster than in a str (more so in
    # a str that holds any character beyond Latin-1).
    results = b",".join(body for _plain, body in page.bodies)
    for marker, value in zip(MARKERS, markers, strict=True):
        results = results.replace(marker, value)
    url = request.build_absolute_uri()
    following = replace_query_param(url, "page", number + 1) if number < last else None
    if number == 1:
        previous = None
    elif number == 2:
        previous = remove_query_param(url, "page")
    else:
        previous = replace_query_param(url, "page", number - 1)
    head = (
        f'{{"count":{page.count},"next":{_json_text(following)},'
        f'"previous":{_json_text(previous)},"results":['
    )
    body = b"".join((head.encode(), results, b"]}"))
    response = HttpResponse(body, content_type=JSONRenderer.media_type)
    return caching.apply_headers(request, response, validators)
