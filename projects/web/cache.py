"""Cached page fragments with one version for the whole directory.

Every fragment's key carries the current version; saving or deleting an entry, a
category, a repository status, a finding, a maintainer or a second_path row bumps it
(projects.web.signals), and services call ``bump_version()`` after bulk writes that send
no signal, so a stale fragment is never read again and simply expires. The API's list
validators (api.caching) and the answers kept whole (projects.web.kept) hang on the same
version.

The version is also a clock: its value is the time of the last change in microseconds
since the epoch (a bump sets it to ``max(previous + 1, now)``), so ``version_time()``
gives a Last-Modified without reading the data. A bump inside a transaction happens at
once (the transaction's own reads see a new version) and again when it commits (Django's
``transaction.on_commit``): whatever a concurrent reader cached from pre-commit data sits
under a version that is already gone by the time the change is visible.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import transaction

from landscape.cache import UNAVAILABLE
from projects.web import near

logger = logging.getLogger(__name__)

VERSION_KEY = "web:fragments:version"
FRAGMENT_TIMEOUT = 60 * 60
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# max(previous + 1, now), atomically. INCR and SET of the caller's string keep the value an
# exact integer (a Lua number would print 16-digit values in exponent notation).
_ADVANCE_LUA = """
local current = tonumber(redis.call('GET', KEYS[1]) or '')
if current and current + 1 > tonumber(ARGV[1]) then
    return redis.call('INCR', KEYS[1])
end
redis.call('SET', KEYS[1], ARGV[1])
return tonumber(ARGV[1])
"""


def current_version() -> int:
    """The version for fragment keys: when the cache cannot say (Redis away), a fresh value,
    so that nothing is read under a version that might be stale."""
    version = read_version()
    return version if version is not None else _fresh()


def read_version() -> int | None:
    """The directory's data version, or None when the cache cannot give one (Redis away):
    then nothing may be answered from a validator or a body kept under any version."""
    return known_version(cache.get(VERSION_KEY))


def known_version(value) -> int | None:
    """``value`` as read from VERSION_KEY (e.g. with get_many); a missing key (never set, or
    evicted) is started again from the clock. None when the cache does not answer."""
    if value is None:
        cache.add(VERSION_KEY, _fresh(), timeout=None)
        value = cache.get(VERSION_KEY)
        if value is None:
            return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def version_time(version: int) -> datetime:
    """When the data last changed, as far as ``version`` tells (to the microsecond)."""
    return EPOCH + timedelta(microseconds=version)


def _fresh() -> int:
    # After an eviction the counter restarts from the clock, never from an old value.
    return time.time_ns() // 1000


def _advance() -> None:
    """Set the version to max(previous + 1, now in microseconds); never raises."""
    near.forget()
    now = _fresh()
    try:
        backend = caches[DEFAULT_CACHE_ALIAS]
        if isinstance(backend, RedisCache):
            _advance_redis(backend, now)
        else:  # another backend (LocMemCache without REDIS_URL): not atomic, good enough
            previous = cache.get(VERSION_KEY)
            try:
                value = max(int(previous) + 1, now)
            except (TypeError, ValueError):
                value = now
            cache.set(VERSION_KEY, value, timeout=None)
    except Exception:  # a cache failure must not fail the write
        logger.warning("could not bump the data version", exc_info=True)


def _advance_redis(backend: RedisCache, now: int) -> None:
    key = backend.make_and_validate_key(VERSION_KEY)

    def run():
        client = backend._cache.get_client(key, write=True)
        return client.eval(_ADVANCE_LUA, 1, key, str(now))

    # landscape.cache.FaultTolerantRedisCache: the same circuit breaker as every other call
    # (skipped while Redis is known to be away, a failure logged once).
    guarded = getattr(backend, "_call", None)
    if guarded is not None:
        guarded("bump_version", lambda: None, run)
        return
    try:
        run()
    except UNAVAILABLE:
        logger.warning("could not bump the data version: the cache is unavailable")


def _scheduled(connection) -> bool:
    return any(func is _advance for _sids, func, _robust in connection.run_on_commit)


def bump_version(*args, using: str | None = None, **kwargs) -> None:
    """Invalidate every cached fragment and API list. A signal receiver (any arguments), and
    what services call after bulk writes that send no signal (``bump_version()``).

    Inside a transaction: now, and once more when it commits (one callback per
    transaction, however many rows it writes); outside one, now."""
    _advance()
    try:
        connection = transaction.get_connection(using)
    except Exception:  # an unknown alias: the bump above is all we can do
        return
    if connection.in_atomic_block and not _scheduled(connection):
        connection.on_commit(_advance, robust=True)


def fragment_key(name: str, *parts: object) -> str:
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    return f"web:fragment:{name}:v{current_version()}:{digest}"


def cached_fragment(name: str, parts: tuple, render: Callable[[], str]) -> str:
    key = fragment_key(name, *parts)
    html = cache.get(key)
    if html is None:
        html = render()
        cache.set(key, html, FRAGMENT_TIMEOUT)
    return html
