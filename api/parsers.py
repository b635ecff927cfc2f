"""The API's JSON parser: landscape.request_input.json_parse, the site's one JSON reader of
request bodies, so that a deep, NUL-bearing or non-UTF-8 body is a 400 naming what is
wrong (DRF's own parser let a deeply nested body raise RecursionError, a 500)."""

from __future__ import annotations

from django.conf import settings
from rest_framework import parsers, status
from rest_framework.exceptions import APIException, ParseError

from landscape.request_input import InputError, json_parse


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        # DRF reads the request stream itself, past Django's DATA_UPLOAD_MAX_MEMORY_SIZE
        # check on request.body: the same limit applies here.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(body) > limit:
            raise BodyTooLarge(f"The request body is larger than {limit} bytes.")
        try:
            return json_parse(body)
        except InputError as exc:
            raise ParseError(str(exc)) from None
