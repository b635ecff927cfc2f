"""Input no view can use, refused for the whole site before any view sees it.

PostgreSQL stores no NUL character and psycopg encodes no lone surrogate, so such a value
reaching a lookup (a slug, a token, an admin filter) was a 500 wherever a view forgot to
check it; and a JSON body nested a few thousand levels deep exhausts the interpreter's
stack in the parser. Here they are a 400 that names the parameter, once for every view:

- ``RequestInputMiddleware``: the path, each query parameter, each header and each field
  of a form body (urlencoded or multipart; uploaded files are not text and are not read)
  must be UTF-8 without NUL.
- ``json_parse``: the one JSON reader of request bodies (the API's parser, the GitHub
  webhook): valid UTF-8 JSON, no NUL or lone surrogate in any key or string, no NaN or
  Infinity, nested at most ``REQUEST_JSON_MAX_DEPTH`` levels.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_UNDECODED = re.compile(r"%[89A-Fa-f][0-9A-Fa-f]")
# Longer names are cut in the message: it names the parameter, it does not echo a payload.
_NAME_SHOWN = 80


class InputError(ValueError):
    """A request value no view can use; the message names it and says what is wrong."""


def _shown(name: str) -> str:
    text = name.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
    text = text.replace("\x00", "\\x00")
    return repr(text[:_NAME_SHOWN] + ("..." if len(text) > _NAME_SHOWN else ""))


def text_problem(value: str) -> str | None:
    """What makes decoded text unusable (unstorable in PostgreSQL), or None."""
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (not a character)"
    return None


def bytes_problem(raw: bytes) -> str | None:
    """What makes raw bytes unusable as text, or None."""
    if b"\x00" in raw:
        return "contains a NUL character"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return "is not valid UTF-8"
    return None


def _wsgi_bytes(value: str) -> bytes | None:
    """WSGI gives raw bytes as latin-1 text; None for text that is not (a test's own)."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return None


def _value_problem(value: str) -> str | None:
    if value.isascii():  # nearly every header: no decoding to check
        return "contains a NUL character" if "\x00" in value else None
    raw = _wsgi_bytes(value)
    return bytes_problem(raw) if raw is not None else text_problem(value)


def _urlencoded_pairs(raw: bytes) -> Iterator[tuple[bytes, bytes]]:
    for part in raw.split(b"&"):
        if part:
            name, _, value = part.partition(b"=")
            yield (
                unquote_to_bytes(name.replace(b"+", b" ")),
                unquote_to_bytes(value.replace(b"+", b" ")),
            )


def _urlencoded_problem(raw: bytes, *, what: str) -> str | None:
    if raw.isascii() and b"%" not in raw and b"\x00" not in raw:
        return None  # nothing escaped: nothing to decode
    for name, value in _urlencoded_pairs(raw):
        shown = _shown(name.decode("utf-8", "replace"))
        if problem := bytes_problem(name):
            return f"a {what} name {problem}: {shown}"
        if problem := bytes_problem(value):
            return f"the {what} {shown} {problem}"
    return None


def request_problem(request: HttpRequest) -> str | None:
    """The first value of the request no view can use, named, or None."""
    meta = request.META
    # The common case at a glance (a few microseconds a request otherwise): every text of
    # the environment ASCII, without NUL or a percent escape, and no form body to read.
    everything = "".join([value for value in meta.values() if value.__class__ is str])
    if (
        everything.isascii()
        and "\x00" not in everything
        and "%" not in everything
        and request.content_type not in FORM_TYPES
    ):
        return None
    # Django has decoded the path already, keeping each byte that is not UTF-8 as its
    # percent escape (a lone surrogate's bytes too): such an escape left in it is one.
    path = request.path_info
    if problem := text_problem(path):
        return f"the path {problem}"
    if _UNDECODED.search(path):
        return "the path is not valid UTF-8"
    raw_query = _wsgi_bytes(meta.get("QUERY_STRING", ""))
    if raw_query is None:
        raw_query = meta.get("QUERY_STRING", "").encode("utf-8", "surrogatepass")
    if problem := _urlencoded_problem(raw_query, what="query parameter"):
        return problem
    for key, value in meta.items():
        is_header = key[:5] == "HTTP_" or key in ("CONTENT_TYPE", "CONTENT_LENGTH")
        if is_header and isinstance(value, str) and (problem := _value_problem(value)):
            header = key.removeprefix("HTTP_").replace("_", "-").title()
            return f"the header {header} {problem}"
    content_type = request.content_type or ""
    if content_type == "application/x-www-form-urlencoded":
        # Django decodes a form's bytes leniently (U+FFFD); the raw body still says.
        return _urlencoded_problem(request.body, what="form field")
    if content_type == "multipart/form-data" and request.method == "POST":
        for name, values in request.POST.lists():
            for value in (name, *values):
                if problem := text_problem(value):
                    return f"the form field {_shown(name)} {problem}"
    return None


def bad_request(request: HttpRequest, message: str) -> HttpResponse:
    """A 400 in the form the caller reads: JSON for the API and the webhook, else text."""
    if request.path_info.startswith(("/api/", "/hooks/")):
        return JsonResponse({"detail": message}, status=400)
    return HttpResponse(
        f"Bad request: {message}.\n", status=400, content_type="text/plain; charset=utf-8"
    )


class RequestInputMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if problem := request_problem(request):
            return bad_request(request, problem)
        return self.get_response(request)


def _reject_constant(name: str) -> Any:
    raise InputError(f"the JSON body contains {name}, which is not a JSON number")


def json_parse(body: bytes, *, max_depth: int | None = None) -> Any:
    """A request body as JSON, or InputError naming what is wrong (the field, by its path:
    ``repository.full_name``, ``links[2]``)."""
    max_depth = settings.REQUEST_JSON_MAX_DEPTH if max_depth is None else max_depth
    try:
        value = json.loads(body, parse_constant=_reject_constant)
    except RecursionError:
        # The C parser gives up at the interpreter's recursion limit: far deeper than ours.
        raise InputError(f"the JSON body is nested deeper than {max_depth} levels") from None
    except UnicodeDecodeError:
        raise InputError("the JSON body is not valid UTF-8") from None
    except InputError:
        raise
    except ValueError as exc:
        raise InputError(f"the JSON body is not valid JSON ({exc})") from None
    # Iterative, so that a value nested just under the parser's limit is walked too.
    stack: list[tuple[Any, str, int]] = [(value, "", 1)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > max_depth:
                raise InputError(f"the JSON body is nested deeper than {max_depth} levels")
            if isinstance(item, dict):
                for key, child in item.items():
                    child_path = f"{path}.{key}" if path else str(key)
                    if problem := text_problem(key):
                        raise InputError(f"a JSON key {problem}: {_shown(child_path)}")
                    stack.append((child, child_path, depth + 1))
            else:
                stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item))
        elif isinstance(item, str) and (problem := text_problem(item)):
            return_path = path or "(the body)"
            raise InputError(f"the JSON field {_shown(return_path)} {problem}")
    return value
