"""Renderers for the exports: the body is already text; error bodies are written plainly."""

from __future__ import annotations

import json

import yaml
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import BaseRenderer


class _TextRenderer(BaseRenderer):
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None:
            return b""
        if isinstance(data, bytes):
            return data
        if isinstance(data, str):
            return data.encode(self.charset)
        return self.render_other(data).encode(self.charset)

    def render_other(self, data) -> str:
        # Error bodies hold DRF's ErrorDetail, a str subclass safe_dump refuses (a 405 was a
        # 500): through JSON they become plain strings, lists and dicts.
        plain = json.loads(json.dumps(data))
        return yaml.safe_dump(plain, sort_keys=False, allow_unicode=True)


class YAMLRenderer(_TextRenderer):
    media_type = "application/yaml"
    format = "yml"


class CSVRenderer(_TextRenderer):
    media_type = "text/csv"
    format = "csv"

    def render_other(self, data) -> str:
        if isinstance(data, dict) and "detail" in data:
            return f"detail\n{data['detail']}\n"
        return str(data)


class FirstRendererNegotiation(BaseContentNegotiation):
    """An export has one format, whatever the Accept header asks."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type
