"""Uploaded files (logos) served by the app itself, in production as in development.

Only files under ``logos/`` are served, from the default storage, with headers that keep
an SVG from running anything even if one slipped past the upload checks: a sandboxing
Content-Security-Policy and no content sniffing.
"""

from __future__ import annotations

import contextlib
from pathlib import PurePosixPath

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest
from django.utils.http import http_date
from django.views.decorators.http import require_safe

SERVED_FOLDERS = ("logos",)
CONTENT_TYPES = {
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}


@require_safe
def media_file(request: HttpRequest, path: str) -> FileResponse:
    parts = PurePosixPath(path).parts
    if (
        len(parts) < 2
        or parts[0] not in SERVED_FOLDERS
        or any(p in ("..", ".") or p.startswith(".") for p in parts)
    ):
        raise Http404("no such file")
    suffix = PurePosixPath(path).suffix.lower()
    content_type = CONTENT_TYPES.get(suffix)
    if content_type is None or not default_storage.exists(path):
        raise Http404("no such file")
    response = FileResponse(default_storage.open(path, "rb"), content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    response["Cache-Control"] = "public, max-age=86400"
    with contextlib.suppress(NotImplementedError, OSError):
        response["Last-Modified"] = http_date(default_storage.get_modified_time(path).timestamp())
    return response
