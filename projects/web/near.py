"""A worker's own copy of the most asked-for whole answers (pages and API reads), in front of
the shared cache.

On these machines one Redis round trip costs about as much as Django's whole answer to a
bare request, so an answer kept in Redis can never be much cheaper than half of that
answer. Each worker process therefore keeps the last answers it gave in memory, under the
data version they were made for, and asks Redis for the version at most every
``NEAR_CACHE_RECHECK`` seconds (0.25 s by default; 0 turns the copy off).

What that costs in freshness: a change made through another process shows in this one
within that interval; a change made in this process (signals and services bump the version
here) shows at once. The answers themselves say ``Cache-Control: public, max-age=60``, so
clients and proxies may keep them far longer than that anyway.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from django.conf import settings

# Enough for the landscape page and the hot API lists; each kept answer is at most
# MAX_BYTES, so a worker holds at most a few tens of MB.
MAX_ENTRIES = 256
MAX_BYTES = 512 * 1024

_lock = threading.Lock()
_entries: OrderedDict[str, tuple[int, object]] = OrderedDict()
_version: int | None = None
_checked_at = 0.0


def _recheck_after() -> float:
    return float(getattr(settings, "NEAR_CACHE_RECHECK", 0.25))


def version(read) -> int | None:
    """The data version, from this worker's memory when it was read from the cache
    (``read()``) less than NEAR_CACHE_RECHECK seconds ago. None: unknown (the cache does
    not answer), and nothing kept here is used."""
    global _version, _checked_at
    interval = _recheck_after()
    now = time.monotonic()
    if interval > 0 and _version is not None and now - _checked_at < interval:
        return _version
    current = read()
    with _lock:
        if current != _version:
            _entries.clear()
        _version, _checked_at = current, now
    return current


def get(key: str, at_version: int | None):
    """What was kept under ``key`` for this version, or None."""
    if at_version is None or _recheck_after() <= 0:
        return None
    entry = _entries.get(key)
    if entry is None or entry[0] != at_version:
        return None
    return entry[1]


def put(key: str, at_version: int | None, value, size: int) -> None:
    if at_version is None or _recheck_after() <= 0 or size > MAX_BYTES:
        return
    with _lock:
        if at_version != _version:
            return  # the version moved while the answer was made
        _entries[key] = (at_version, value)
        _entries.move_to_end(key)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)


def forget() -> None:
    """The data changed in this process: read the version again on the next request."""
    global _version
    with _lock:
        _version = None
        _entries.clear()
