"""The API's documentation pages, with nothing loaded from another host.

ReDoc's bundle (drf-spectacular-sidecar's copy) draws its attribution footer with an image
from cdn.redoc.ly and has no option to leave it out. The browser would ask that CDN on every
visit (the CSP refuses it, with an error in the console). The bundle is therefore served
from here with any remote image source replaced by an empty inline image; the rest of the
file is the sidecar's, byte for byte, and follows its upgrades.

Swagger UI needs nothing of the kind: its validator badge (an image from validator.swagger.io)
belongs to the StandaloneLayout, and /api/docs/ uses the BaseLayout.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe
from drf_spectacular.views import SpectacularRedocView

REDOC_BUNDLE = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
# An image element's source in the minified React code: src:"https://...".
_REMOTE_IMAGE = re.compile(rb"""\bsrc:(["'])https?://[^"']*\1""")
_EMPTY_IMAGE = b'src:"data:image/svg+xml,%3Csvg xmlns=%27http://www.w3.org/2000/svg%27/%3E"'


@dataclass(frozen=True)
class _Bundle:
    body: bytes
    gzipped: bytes
    version: str


@functools.cache
def _redoc_bundle() -> _Bundle:
    # Once a process: the file only changes with the installed sidecar.
    source = Path(finders.find(REDOC_BUNDLE)).read_bytes()
    body = _REMOTE_IMAGE.sub(_EMPTY_IMAGE, source)
    return _Bundle(
        body=body,
        gzipped=gzip.compress(body, compresslevel=9, mtime=0),
        version=hashlib.sha256(body).hexdigest()[:16],
    )


@require_safe
def redoc_bundle(request: HttpRequest) -> HttpResponse:
    bundle = _redoc_bundle()
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        response = HttpResponse(bundle.gzipped, content_type="text/javascript; charset=utf-8")
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(bundle.body, content_type="text/javascript; charset=utf-8")
    patch_vary_headers(response, ["Accept-Encoding"])
    # The page links the bundle with its version in the query: a new sidecar, a new URL.
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


class RedocView(SpectacularRedocView):
    def _redoc_standalone(self) -> str:
        return f"{reverse('api:redoc-bundle')}?v={_redoc_bundle().version}"
