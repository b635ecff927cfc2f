"""The API's JSON parser: landscape.request_input.json_parse, the site's one JSON reader of
request bodies, so that a deep, NUL-bearing or non-UTF-8 body is a 400 naming what is
wrong (DRF's own parser let a deeply nested body raise RecursionError, a 500)."""

from __future__ import annotations

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from landscape.request_input import InputError, json_parse


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return json_parse(stream.read())
        except InputError as exc:
            raise ParseError(str(exc)) from None
