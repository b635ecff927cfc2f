"""While PostgreSQL cannot be reached (restarting, failing over, out of connections), the
site answers 503 with Retry-After, not 500: the fault is the server's absence, not a bug.

``database_unreachable`` tells such a fault from any other database error: a connection
that fails, breaks or is refused, or the server saying it is shutting down or starting up.
A bad query (ProgrammingError, IntegrityError, a statement cancelled...) is a bug or a
conflict and keeps its 500 or its own handling.

``OutageMiddleware`` (first in MIDDLEWARE) answers such a fault raised by a view
(``process_exception``); ``server_error`` (handler500) does it for one raised by a
middleware (the API's public list pages are answered before the view, sessions load and
save in middleware). Either way the broken connection is closed, and a GET or HEAD is tried
once more through the whole stack on a fresh connection: a connection killed by a restart
already over costs the visitor nothing.
"""

from __future__ import annotations

import logging
import sys

from django.db import InterfaceError, OperationalError, connections
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views import defaults

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5  # a restart takes a second or two; a failover a few more
RETRIED_METHODS = ("GET", "HEAD")
# PostgreSQL's SQLSTATEs for a server that is not there to answer, besides connection
# exceptions (class 08): shutting down (57P01 admin, 57P02 crash), starting up or in
# recovery (57P03), out of connection slots (53300).
UNAVAILABLE_STATES = ("57P01", "57P02", "57P03", "53300")


def database_unreachable(exc: BaseException) -> bool:
    """True for a connection-level database error, the kind that waiting cures."""
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    if not hasattr(cause, "sqlstate"):
        # Not psycopg: SQLite's operational errors (a locked file, a missing table) are the
        # development database's own, not an outage.
        return False
    # No SQLSTATE: psycopg's own report of a refused, reset or closed connection.
    state = cause.sqlstate
    return state is None or state.startswith("08") or state in UNAVAILABLE_STATES


def unavailable_response(request) -> HttpResponse:
    """503 with Retry-After: JSON for the API, a small page (no database, no session)
    for everything else."""
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {
                "detail": "The database is unavailable for a moment: retry after the "
                "Retry-After seconds."
            },
            status=503,
        )
    else:
        response = HttpResponse(
            render_to_string("503.html", {"retry_after": RETRY_AFTER_SECONDS}), status=503
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    response.database_unavailable = True
    return response


def _unavailable(request, exc: BaseException) -> HttpResponse:
    logger.warning(
        "database unreachable (%s: %s): %s %s answered 503",
        exc.__class__.__name__,
        str(exc).splitlines()[0][:200] if str(exc) else "",
        request.method,
        request.path,
    )
    # A broken connection is not used again: the retry, and the next request, connect anew.
    connections.close_all()
    return unavailable_response(request)


class OutageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(response, "database_unavailable", False) and request.method in RETRIED_METHODS:
            response = self.get_response(request)
        return response

    def process_exception(self, request, exception):
        if database_unreachable(exception):
            return _unavailable(request, exception)
        return None


def server_error(request):
    """handler500. Called while Django handles the exception, so ``sys.exc_info`` holds it
    (the view gets no exception argument)."""
    exc = sys.exc_info()[1]
    if exc is not None and database_unreachable(exc):
        return _unavailable(request, exc)
    return defaults.server_error(request)
