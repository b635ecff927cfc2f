"""Structured logs: one JSON object per line (``LOG_FORMAT=json``, the default without DEBUG).

Our own formatter rather than python-json-logger: it is forty lines on the standard
library, and it does the one thing a log shipper needs here: ``time`` (UTC, ISO 8601),
``level``, ``logger``, ``message`` (the %-formatted text), ``exc_info`` (the traceback as
text) and every ``extra={...}`` field passed to the call, serialized with ``str`` when JSON
cannot take it. Nothing of the request is added implicitly, so nothing secret is either.

URLs do reach log lines (gunicorn's access log, django.request's "Not Found: <path>"), and
some URLs are secrets: a password-reset link signs in whoever holds it. ``redact_secrets``
masks them in every line, through ``RedactSecretsFilter`` on our handler and through
``landscape.gunicorn_logging.RedactingLogger`` for gunicorn's access log.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

# The attributes every LogRecord has; anything else on a record came from ``extra``.
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
# Objects Django attaches to request log records: large, and they may carry cookies/headers.
_DROPPED_EXTRA = {"request", "server_time"}


# allauth's links carry their key as a path segment: a password reset
# (/accounts/password/reset/key/<uidb36>-<key>/) and an email confirmation
# (/accounts/confirm-email/<key>/).
_SECRET_PATH = re.compile(r"(/(?:password/reset/key|confirm-email)/)[^/?#\s\"']+", re.IGNORECASE)
# A query parameter whose name says it holds a credential (token=, key=, api_key=, code=,
# signature=, ...): its value, whatever the name's case or prefix.
_SECRET_QUERY = re.compile(
    r"([?&;][^=&;#\s\"']*(?:token|key|secret|passw|signature|sig|code|otp|auth|session|state)"
    r"[^=&;#\s\"']*=)[^&;#\s\"']*",
    re.IGNORECASE,
)
REDACTED = "[redacted]"


def redact_secrets(text: str) -> str:
    """``text`` with the secrets URLs carry replaced by ``[redacted]``."""
    if "/" not in text and "=" not in text:
        return text
    text = _SECRET_PATH.sub(rf"\1{REDACTED}", text)
    return _SECRET_QUERY.sub(rf"\1{REDACTED}", text)


class RedactSecretsFilter(logging.Filter):
    """On a handler: every record leaves with its message redacted (the arguments are
    merged in first, as that is where Django puts a request's path)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # a malformed record: let the handler report it as usual
        redacted = redact_secrets(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        for key, value in vars(record).items():
            if key in _RESERVED or key in _DROPPED_EXTRA or key.startswith("_"):
                continue
            entry.setdefault(key, value)
        return json.dumps(entry, default=str, ensure_ascii=False)
