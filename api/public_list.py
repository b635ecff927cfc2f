"""The public's list pages by stars, written from stored entry bodies.

An anonymous read of the entry list ordered by ``-stars``, filtered by category and health
only, asking for JSON as it is (the renderer's own media type, no indent): its page is
the Listing rows' ids, their bodies as the triggers stored them (api/entry_body_sql.py)
and the count from FacetCount, read in one statement and joined into DRF's envelope,
with no model instance, serializer or renderer on the way.

Two ways in: a GET without cookies or credentials is answered before the session
middleware and DRF (``public_list_answer``, called by projects.web.kept), and one that
carries a cookie but no signed-in user from ProjectViewSet.list (``public_list_response``).

Anything else returns None and the serializer's path answers, with its own 400 or 404: a
parameter this path does not read, a value the filters would refuse or that they would
read another way (an empty value, a repeated one), a page out of range, an entry whose
body is not ``plain``, URL paths other than those the bodies were written with.
tests/api/test_public_list.py checks that every way gives the same bytes and headers.
"""

from __future__ import annotations

import json
import re

from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from django.urls import get_script_prefix
from rest_framework.renderers import JSONRenderer

from api import caching
from api.entry_body_sql import ORIGIN
from api.pagination import ProjectPagination
from api.selectors import baked_url_paths, stored_page
from api.serializers import (
    _LOGO_STORAGE,
    _SLUG_PLACEHOLDER,
    ProjectRepresentation,
    representations_from_rows,
)
from projects.models import Health
from projects.selectors import ListParams
from projects.web.kept import CONDITIONAL_HEADERS

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


# SITE_URL as bodies hold it, by what the URLs depend on: SITE_URL, the script prefix, the
# URLconf and MEDIA_URL (one key in practice; cleared if it ever grows), never the request's
# Host. None: the paths baked into the bodies are not today's.
_ORIGINS: dict[tuple, bytes | None] = {}


def _origin(request) -> bytes | None:
    """What the ORIGIN marker of a stored body stands for (SITE_URL), JSON-escaped."""
    key = (
        settings.SITE_URL,
        get_script_prefix(),
        getattr(request, "urlconf", None) or settings.ROOT_URLCONF,
        settings.MEDIA_URL,
    )
    if key not in _ORIGINS:
        if len(_ORIGINS) >= 64:
            _ORIGINS.clear()
        _ORIGINS[key] = _checked_origin(request)
    return _ORIGINS[key]


def _checked_origin(request) -> bytes | None:
    # The URL parts ProjectRepresentation computes for this request must be the origin
    # followed by the paths the bodies were written with.
    baked = baked_url_paths()
    if baked is None or None in baked:
        return None
    urls = ProjectRepresentation(request)
    origin = urls.origin
    logo = urls.absolute(_LOGO_STORAGE.url(_SLUG_PLACEHOLDER))
    logo_start, found, logo_end = logo.rpartition(_SLUG_PLACEHOLDER)
    current = [*(urls.url_parts or ()), *(urls.html_url_parts or ())]
    current += [*(urls.badge_url_parts or ()), logo_start if found and not logo_end else None]
    media = baked[6]
    expected = [origin + baked[0], baked[1], origin + baked[2], baked[3]]
    expected += [origin + baked[4], baked[5], origin + media if media.startswith("/") else media]
    return _json_text(origin)[1:-1].encode() if current == expected else None


def public_list_response(request, *, pagination) -> HttpResponse | None:
    """From ProjectViewSet.list (DRF has authenticated, negotiated and throttled the read):
    the answer this path can give (see the module), else None."""
    if (
        request.user.is_authenticated
        or type(request.accepted_renderer) is not JSONRenderer
        or request.accepted_media_type != JSONRenderer.media_type
        or not _eligible(request.query_params)
    ):
        return None
    validators = caching.list_validators(request)
    if (response := caching.not_modified(request, validators)) is not None:
        return response
    return _page(request, request.query_params, pagination, validators)


def public_list_answer(request, *, version: int | None, view) -> HttpResponse | None:
    """From projects.web.kept, before the session, authentication and DRF: a GET with no
    cookie and no credentials (an anonymous visitor), under the data ``version`` the
    middleware read (None: unknown, no validators). The answer carries what the rest of the
    stack would have added to it (DRF's Allow and Vary, the X-Frame-Options and
    Content-Length middleware's); a conditional read is left to the stack (a 304 from DRF),
    and so is any Accept header but JSON's own."""
    if (
        request.META.get("HTTP_ACCEPT", "*/*") not in ("*/*", JSONRenderer.media_type)
        or any(header in request.META for header in CONDITIONAL_HEADERS)
        or not _eligible(request.GET)
    ):
        return None
    validators = caching.version_validators(request, version, media=JSONRenderer.media_type)
    response = _page(request, request.GET, ProjectPagination(), validators)
    if response is None:
        return None
    response["Allow"] = _allowed_methods(view)
    response["X-Frame-Options"] = getattr(settings, "X_FRAME_OPTIONS", "DENY").upper()
    response["Content-Length"] = str(len(response.content))
    return response


def _allowed_methods(view) -> str:
    # What DRF's APIView.allowed_methods gives for the route's actions (GET brings HEAD,
    # and every view answers OPTIONS).
    methods = set(view.actions) | {"options"} | ({"head"} if "get" in view.actions else set())
    return ", ".join(m.upper() for m in view.cls.http_method_names if m in methods)


def _eligible(query) -> bool:
    return (
        settings.API_LIST_STORED_BODIES
        and connection.vendor == "postgresql"
        and set(query) <= PARAMETERS
        and query.getlist("ordering") == ["-stars"]
        and representations_from_rows()
    )


def _page(request, query, pagination, validators) -> HttpResponse | None:
    params = _list_params(query)
    size = _number(query, "page_size", pagination.page_size)
    number = _number(query, "page", 1)
    if params is None or size is None or size > pagination.max_page_size or number is None:
        return None
    origin = _origin(request)
    if origin is None:
        return None
    page = stored_page(params, offset=(number - 1) * size, limit=size)
    links = pagination.links(request, number=number, size=size, count=page.count)
    expected = max(0, min(size, page.count - (number - 1) * size))
    if (
        not page.category_known
        or links is None  # a page out of range: the serializer's 404
        or len(page.bodies) != expected
        or not all(plain for _total, plain, _body in page.bodies)
    ):
        return None
    following, previous = links

    # In bytes: replacing in UTF-8 bytes is several times faster than in a str (more so in
    # a str that holds any character beyond Latin-1), and the response is bytes.
    results = b",".join([body for _total, _plain, body in page.bodies]).replace(ORIGIN, origin)
    head = (
        f'{{"count":{page.count},"next":{_json_text(following)},'
        f'"previous":{_json_text(previous)},"results":['
    )
    body = b"".join((head.encode(), results, b"]}"))
    response = HttpResponse(body, content_type=JSONRenderer.media_type)
    return caching.apply_headers(request, response, validators)
