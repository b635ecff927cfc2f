"""The one outbound HTTP layer every source uses.

Why a custom network backend: checking a URL's host before the request is not
enough, because the name can resolve to a public address during the check and
to 127.0.0.1 a moment later (DNS rebinding). The guard therefore resolves the
name itself at connect time, vets every address, and connects to the vetted IP
literal; TLS still verifies the certificate against the hostname because
httpcore passes the origin's host as SNI after the TCP connection is made.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Self

import httpcore
import httpx
from django.conf import settings

from .base import (
    OutboundRefused,
    RequestCounter,
    SourceError,
    TransientError,
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_MAX_BYTES = 8 * 1024 * 1024
_NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")

Resolver = Callable[..., list[tuple[Any, ...]]]


@lru_cache(maxsize=32)
def _parse_networks_cached(values: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    networks: list[IPNetwork] = []
    for value in values:
        text = value.strip()
        if text:
            networks.append(ipaddress.ip_network(text, strict=False))
    return tuple(networks)


def parse_networks(values: Iterable[str] | str | None) -> tuple[IPNetwork, ...]:
    """Parse CIDR strings (a list, or one comma-separated string) into networks."""
    if not values:
        return ()
    if isinstance(values, str):
        values = values.split(",")
    return _parse_networks_cached(tuple(values))


def allowed_networks_from_settings() -> tuple[IPNetwork, ...]:
    # Read on every connection so override_settings in tests (and a reload in
    # production) takes effect without rebuilding clients.
    return parse_networks(getattr(settings, "OUTBOUND_ALLOWED_NETWORKS", ()))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address can carry to an IPv4 host."""
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if ip in _NAT64_PREFIX:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if int(ip) >> 32 == 0 and int(ip) > 1:
        # Deprecated IPv4-compatible form ::a.b.c.d.
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def _is_public(ip: IPAddress) -> bool:
    if (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    ):
        return False
    return not (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT)


def refusal_reason(ip: IPAddress, allowed: Sequence[IPNetwork] = ()) -> str | None:
    """Why connecting to ``ip`` is refused, or None when it is allowed."""
    candidates: list[IPAddress] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        candidates.extend(_embedded_ipv4(ip))
    if any(c in net for c in candidates for net in allowed if c.version == net.version):
        return None
    for candidate in candidates:
        if not _is_public(candidate):
            if candidate is ip:
                return f"{ip} is not a public address"
            return f"{ip} embeds the non-public address {candidate}"
    return None


class GuardedNetworkBackend(httpcore.SyncBackend):
    """An httpcore backend that only connects to vetted, resolved addresses."""

    def __init__(
        self,
        *,
        allowed_networks: Callable[[], Sequence[IPNetwork]] | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        self._allowed_networks = allowed_networks or allowed_networks_from_settings
        self._resolver = resolver or socket.getaddrinfo

    def vetted_addresses(self, host: str, port: int) -> list[str]:
        """Resolve ``host`` and return the addresses we may connect to.

        Raises OutboundRefused when no address is acceptable, and
        httpcore.ConnectError when the name does not resolve (a DNS failure is
        transient, not a refusal).
        """
        host = host.strip("[]")
        try:
            infos = self._resolver(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host!r}: {exc}") from exc
        allowed = self._allowed_networks()
        vetted: list[str] = []
        reasons: list[str] = []
        for info in infos:
            sockaddr = info[4]
            literal = str(sockaddr[0]).split("%", 1)[0]
            try:
                ip = ipaddress.ip_address(literal)
            except ValueError:
                reasons.append(f"unparseable address {literal!r}")
                continue
            reason = refusal_reason(ip, allowed)
            if reason is None:
                # Connect to the IPv4 host directly rather than through the
                # dual-stack mapping, so the socket family matches what was vetted.
                if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
                    literal = str(ip.ipv4_mapped)
                if literal not in vetted:
                    vetted.append(literal)
            else:
                reasons.append(reason)
        if not vetted:
            detail = "; ".join(dict.fromkeys(reasons)) or "no addresses"
            raise OutboundRefused(f"refusing to connect to {host}: {detail}")
        return vetted

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = self.vetted_addresses(host, port)
        last_error: Exception | None = None
        for address in addresses:
            try:
                # An IP literal makes the parent's create_connection skip DNS,
                # so the address we vetted is the address we reach.
                return super().connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise OutboundRefused("unix sockets are not an outbound destination")


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with its connection pool rebuilt on the guarded backend.

    httpx does not expose httpcore's ``network_backend``; swapping the pool keeps
    httpx's request/response and exception mapping, which is the part worth reusing.
    """

    def __init__(
        self,
        *,
        network_backend: httpcore.NetworkBackend | None = None,
        limits: httpx.Limits | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        limits = limits or httpx.Limits(max_connections=20, max_keepalive_connections=10)
        super().__init__(limits=limits, trust_env=False)
        if not isinstance(getattr(self, "_pool", None), httpcore.ConnectionPool):
            raise RuntimeError("httpx changed its transport internals; review GuardedTransport")
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=network_backend or GuardedNetworkBackend(),
        )


def make_client(
    *,
    timeout: float | None = None,
    headers: Mapping[str, str] | None = None,
    network_backend: httpcore.NetworkBackend | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> httpx.Client:
    """An httpx.Client behind the SSRF guard that never follows redirects itself.

    ``ssl_context`` replaces the default (system CAs, hostname checking on);
    tests use it to trust a throwaway certificate.
    """
    seconds = float(settings.OUTBOUND_TIMEOUT if timeout is None else timeout)
    base_headers = {"User-Agent": settings.OUTBOUND_USER_AGENT}
    base_headers.update(headers or {})
    return httpx.Client(
        transport=GuardedTransport(network_backend=network_backend, ssl_context=ssl_context),
        timeout=httpx.Timeout(seconds),
        follow_redirects=False,
        # Environment proxies would move the connection to the proxy and around the guard.
        trust_env=False,
        headers=base_headers,
    )


@dataclass(frozen=True, slots=True)
class Fetched:
    """A response whose body was read under a byte limit."""

    status_code: int
    headers: httpx.Headers
    content: bytes
    url: str
    truncated: bool = False

    def json(self) -> Any:
        if self.truncated:
            raise SourceError(f"response from {self.url} exceeded the size limit")
        try:
            return json.loads(self.content)
        except (ValueError, UnicodeDecodeError) as exc:
            raise TransientError(f"malformed JSON from {self.url}: {exc}") from exc

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


def read_limited(
    response: httpx.Response, max_bytes: int, *, deadline: float | None = None
) -> tuple[bytes, bool]:
    """Read at most ``max_bytes`` of a streamed body; report whether more was left.

    ``deadline`` (a time.monotonic() value) bounds the whole read: httpx's
    timeouts are per socket operation, so a server dripping one byte at a time
    would otherwise hold us far longer than the nominal timeout.
    """
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        if deadline is not None and time.monotonic() > deadline:
            raise httpx.ReadTimeout("body read exceeded the total time limit")
        room = max_bytes - size
        if len(chunk) > room:
            chunks.append(chunk[:room])
            return b"".join(chunks), True
        chunks.append(chunk)
        size += len(chunk)
        if size == max_bytes:
            # Stop here: a server that keeps streaming must not cost us more.
            return b"".join(chunks), True
    return b"".join(chunks), False


def describe_transport_error(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    if isinstance(exc, httpx.ConnectError):
        return f"connection failed: {exc}"
    return f"{type(exc).__name__}: {exc}"


def fetch(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    json_body: Any = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    read_body: bool = True,
    total_timeout: float | None = None,
) -> Fetched:
    """Send one request (no redirects) and read a bounded body.

    Transport failures become TransientError; OutboundRefused passes through.
    """
    deadline = None if total_timeout is None else time.monotonic() + total_timeout
    request = client.build_request(method, url, headers=headers, json=json_body)
    try:
        response = client.send(request, stream=True)
    except httpx.InvalidURL as exc:
        # httpx parses a redirect's Location even when not following it, and
        # gives up on some (javascript:, mailto:): the site's fault, not a glitch.
        raise SourceError(f"{method} {url}: unusable redirect Location: {exc}") from exc
    except httpx.RemoteProtocolError as exc:
        if "location header" in str(exc).lower():
            raise SourceError(f"{method} {url}: unusable redirect Location: {exc}") from exc
        raise TransientError(f"{method} {url}: {describe_transport_error(exc)}") from exc
    except httpx.TransportError as exc:
        raise TransientError(f"{method} {url}: {describe_transport_error(exc)}") from exc
    try:
        if read_body and method.upper() != "HEAD":
            content, truncated = read_limited(response, max_bytes, deadline=deadline)
        else:
            content, truncated = b"", False
    except httpx.TransportError as exc:
        raise TransientError(f"{method} {url}: {describe_transport_error(exc)}") from exc
    finally:
        response.close()
    return Fetched(
        status_code=response.status_code,
        headers=response.headers,
        content=content,
        url=str(response.url),
        truncated=truncated,
    )


class SourceClient:
    """Base for the API clients: one guarded httpx.Client and a request counter."""

    source_name = "source"

    def __init__(
        self,
        *,
        http_client: httpx.Client | None = None,
        timeout: float | None = None,
    ) -> None:
        self._owns_client = http_client is None
        self._http = http_client or make_client(timeout=timeout)
        self.counter = RequestCounter()

    @property
    def requests_made(self) -> int:
        return self.counter.requests_made

    def _fetch(
        self,
        method: str,
        url: str,
        *,
        endpoint: str,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> Fetched:
        # Counted before sending: a request that timed out still spent quota upstream.
        self.counter.add(endpoint)
        return fetch(
            self._http, method, url, headers=headers, json_body=json_body, max_bytes=max_bytes
        )

    def close(self) -> None:
        if self._owns_client:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def same_origin(a: str, b: str) -> bool:
    """Whether two URLs share scheme, host and port (tokens must not leave the origin)."""
    ua, ub = httpx.URL(a), httpx.URL(b)
    return (ua.scheme, ua.host, ua.port or _default_port(ua.scheme)) == (
        ub.scheme,
        ub.host,
        ub.port or _default_port(ub.scheme),
    )


def _default_port(scheme: str) -> int | None:
    return {"http": 80, "https": 443}.get(scheme)
