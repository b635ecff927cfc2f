"""Structured logs: one JSON object per line (``LOG_FORMAT=json``, the default without DEBUG).

Our own formatter rather than python-json-logger: it is forty lines on the standard
library, and it does the one thing a log shipper needs here: ``time`` (UTC, ISO 8601),
``level``, ``logger``, ``message`` (the %-formatted text), ``exc_info`` (the traceback as
text) and every ``extra={...}`` field passed to the call, serialized with ``str`` when JSON
cannot take it. Nothing of the request is added implicitly, so nothing secret is either.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

# The attributes every LogRecord has; anything else on a record came from ``extra``.
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
# Objects Django attaches to request log records: large, and they may carry cookies/headers.
_DROPPED_EXTRA = {"request", "server_time"}


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
