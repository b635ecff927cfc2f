"""A Redis cache that degrades to a miss when Redis is away, instead of failing the request.

Django's RedisCache raises redis' ConnectionError/TimeoutError on a dead server, so every
page that reads a cached fragment (and every API call, through the throttles) would answer
500 while Redis restarts. Here each operation that fails is logged and answered as a miss:
``get`` gives the default, ``add`` gives False (a lock is *not* taken: fail closed),
``set``/``delete`` do nothing, ``incr`` raises ValueError like a missing key.

After a failure the backend stops trying for ``RETRY_AFTER`` seconds (a small circuit
breaker), so a page that touches the cache ten times does not pay ten connection timeouts;
the first call after that tries Redis again. One warning is logged when Redis goes away and
one line when it answers again, not one per call.

OPTIONS (besides redis-py's pool options, e.g. ``socket_timeout``):
  ``RETRY_AFTER``  seconds to treat Redis as down after a failure (default 2).
"""

from __future__ import annotations

import logging
import threading
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

#: What a dead, restarting or unreachable Redis raises (BusyLoadingError, the answer of a
#: server still loading its data, is a ConnectionError).
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)


class _OneClientPerPool(RedisCacheClient):
    """Django's client makes a new ``redis.Redis`` on every call (about a third of a cached
    read's time); one per connection pool is enough: a client is a thin, thread-safe
    handle on its pool."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            pool = self._get_connection_pool(write)
            client = self._clients.setdefault(index, self._client(connection_pool=pool))
        return client


class FaultTolerantRedisCache(RedisCache):
    _class = _OneClientPerPool

    def __init__(self, server, params):
        params = dict(params)
        options = dict(params.get("OPTIONS") or {})
        self.retry_after = float(options.pop("RETRY_AFTER", 2.0))
        params["OPTIONS"] = options
        super().__init__(server, params)
        self._down_until = 0.0
        self._down = False
        self._state_lock = threading.Lock()

    # --- the circuit ------------------------------------------------------------------------

    @property
    def available(self) -> bool:
        """False while the backend is skipping Redis after a failure."""
        return time.monotonic() >= self._down_until

    def _failed(self, operation: str, exc: Exception) -> None:
        with self._state_lock:
            self._down_until = time.monotonic() + self.retry_after
            first = not self._down
            self._down = True
        if first:
            logger.warning(
                "cache unavailable (%s failed: %s): serving without the cache, retrying every "
                "%.0f s",
                operation,
                exc.__class__.__name__,
                self.retry_after,
            )

    def _succeeded(self) -> None:
        if self._down:
            with self._state_lock:
                was_down, self._down = self._down, False
            if was_down:
                logger.warning("cache available again")

    def _call(self, operation: str, miss, method, *args, **kwargs):
        """``method(*args)``, or ``miss()`` (the answer of an empty cache) when Redis is away."""
        if not self.available:
            return miss()
        try:
            result = method(*args, **kwargs)
        except UNAVAILABLE as exc:
            self._failed(operation, exc)
            return miss()
        self._succeeded()
        return result

    def ping(self) -> bool:
        """Ask Redis itself, past the circuit: True when it answers (for /healthz)."""
        try:
            return bool(self._cache.get_client(write=True).ping())
        except UNAVAILABLE:
            return False

    # --- the operations -----------------------------------------------------------------------

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("add", lambda: False, super().add, key, value, timeout, version)

    def get(self, key, default=None, version=None):
        return self._call("get", lambda: default, super().get, key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set", lambda: None, super().set, key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("touch", lambda: False, super().touch, key, timeout, version)

    def delete(self, key, version=None):
        return self._call("delete", lambda: False, super().delete, key, version)

    def get_many(self, keys, version=None):
        return self._call("get_many", dict, super().get_many, keys, version)

    def has_key(self, key, version=None):
        return self._call("has_key", lambda: False, super().has_key, key, version)

    def incr(self, key, delta=1, version=None):
        def missing():
            raise ValueError(f"Key '{key}' not found (the cache is unavailable)")

        return self._call("incr", missing, super().incr, key, delta, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set_many", lambda: list(data), super().set_many, data, timeout, version)

    def delete_many(self, keys, version=None):
        return self._call("delete_many", lambda: None, super().delete_many, keys, version)

    def ttl_many(self, keys, version=None) -> dict:
        """Seconds each key has left to live: 0.0 for a key that is gone, None for one
        without expiry; {} while Redis is away. Django's RedisCache has no such call."""

        def read():
            names = [self.make_and_validate_key(key, version=version) for key in keys]
            # The primary: a replica may not have seen a lock's latest write yet.
            pipeline = self._cache.get_client(write=True).pipeline()
            for name in names:
                pipeline.pttl(name)
            answers = pipeline.execute()
            # PTTL: -2 for a missing key, -1 for one that does not expire.
            return {
                key: None if ms == -1 else max(ms, 0) / 1000
                for key, ms in zip(keys, answers, strict=True)
            }

        return self._call("ttl_many", dict, read)

    def clear(self):
        return self._call("clear", lambda: False, super().clear)
