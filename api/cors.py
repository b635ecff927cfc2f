"""CORS for the API, open to any origin but for reads only.

CORS_URLS_REGEX limits django-cors-headers to /api/; with no origin allowed in settings,
this receiver is what allows one: for GET and HEAD, and for a preflight that asks for them.
A browser on another site can then read the API but never write to it (a write needs the
Authorization header, hence a preflight, which gets no Access-Control-Allow-Origin)."""

from __future__ import annotations

READ_METHODS = {"GET", "HEAD"}


def cors_for_reads_only(sender, request, **kwargs) -> bool:
    if not request.path_info.startswith("/api/"):
        return False
    if request.method in READ_METHODS:
        return True
    if request.method == "OPTIONS":
        asked = request.headers.get("Access-Control-Request-Method", "").upper()
        return asked in READ_METHODS
    return False
