"""Link checks for homepages, documentation and non-repository URLs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.conf import settings

from .base import OutboundRefused, SourceError, TransientError
from .http import Fetched, SourceClient, fetch

MAX_REDIRECTS = 5
LINK_TIMEOUT = 10.0
MAX_BODY_BYTES = 64 * 1024
CANARY_TIMEOUT = 5.0
DEFAULT_CANARY_URLS = ("https://www.python.org/", "https://pypi.org/", "https://github.com/")

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
# Servers that refuse HEAD outright, or only block it, usually answer GET.
_RETRY_WITH_GET = frozenset({403, 405, 501})


@dataclass(frozen=True, slots=True)
class LinkResult:
    """The outcome of checking one URL.

    ``transient`` marks failures worth retrying before believing them (5xx,
    429, timeouts, DNS and connection failures); 4xx answers, refused
    destinations and redirect loops are definite.
    """

    url: str
    ok: bool
    status_code: int | None = None
    final_url: str | None = None
    permanent_redirect_to: str | None = None
    error: str | None = None
    transient: bool = False
    redirects: tuple[str, ...] = field(default=())


def url_problem(url: str) -> str | None:
    """Why ``url`` must not be fetched, or None: http(s) only, no credentials."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        return f"invalid URL: {exc}"
    if parsed.scheme not in {"http", "https"}:
        return f"scheme {parsed.scheme or '(none)'!r} is not allowed"
    if parsed.userinfo:
        return "credentials in the URL are not allowed"
    if not parsed.host:
        return "URL has no host"
    return None


class LinkChecker(SourceClient):
    source_name = "links"

    def __init__(self, *, timeout: float | None = None, **kwargs: Any) -> None:
        if timeout is None:
            timeout = float(getattr(settings, "LINK_TIMEOUT", LINK_TIMEOUT))
        super().__init__(timeout=timeout, **kwargs)
        self.timeout = timeout

    def _hop(self, method: str, url: str) -> Fetched:
        self.counter.add(method.lower())
        return fetch(
            self._http,
            method,
            url,
            headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
            max_bytes=MAX_BODY_BYTES,
            total_timeout=self.timeout,
        )

    def check(self, url: str) -> LinkResult:
        problem = url_problem(url)
        if problem:
            return LinkResult(url=url, ok=False, error=problem)
        current = url
        hops: list[str] = []
        permanent_to: str | None = None
        still_permanent = True
        for _ in range(MAX_REDIRECTS + 1):
            try:
                response = self._hop("HEAD", current)
                if response.status_code in _RETRY_WITH_GET:
                    response = self._hop("GET", current)
            except OutboundRefused as exc:
                return self._failed(url, current, hops, permanent_to, str(exc), transient=False)
            except TransientError as exc:
                return self._failed(url, current, hops, permanent_to, str(exc), transient=True)
            except SourceError as exc:
                return self._failed(url, current, hops, permanent_to, str(exc), transient=False)
            status = response.status_code
            if status in _REDIRECTS:
                location = response.headers.get("location")
                if not location:
                    return self._failed(
                        url, current, hops, permanent_to,
                        f"HTTP {status} without a Location", transient=False, status=status,
                    )  # fmt: skip
                try:
                    target = str(httpx.URL(current).join(location.strip()))
                except (httpx.InvalidURL, ValueError) as exc:
                    return self._failed(
                        url, current, hops, permanent_to,
                        f"bad redirect target: {exc}", transient=False, status=status,
                    )  # fmt: skip
                # Only an unbroken run of permanent hops from the listed URL is
                # something the listing should be updated to.
                if still_permanent and status in _PERMANENT:
                    permanent_to = target
                else:
                    still_permanent = False
                problem = url_problem(target)
                if problem:
                    return self._failed(
                        url, target, hops, permanent_to,
                        f"redirect refused: {problem}", transient=False, status=status,
                    )  # fmt: skip
                hops.append(target)
                current = target
                continue
            ok = 200 <= status < 300
            return LinkResult(
                url=url,
                ok=ok,
                status_code=status,
                final_url=current,
                permanent_redirect_to=permanent_to,
                error=None if ok else f"HTTP {status}",
                transient=not ok and (status >= 500 or status == 429),
                redirects=tuple(hops),
            )
        return self._failed(
            url, current, hops, permanent_to,
            f"more than {MAX_REDIRECTS} redirects", transient=False,
        )  # fmt: skip

    @staticmethod
    def _failed(
        url: str,
        final: str,
        hops: list[str],
        permanent_to: str | None,
        error: str,
        *,
        transient: bool,
        status: int | None = None,
    ) -> LinkResult:
        return LinkResult(
            url=url,
            ok=False,
            status_code=status,
            final_url=final,
            permanent_redirect_to=permanent_to,
            error=error,
            transient=transient,
            redirects=tuple(hops),
        )

    def reaches_any(self, urls: Sequence[str]) -> bool:
        """True when at least one URL gives any HTTP answer at all."""
        for url in urls:
            if url_problem(url):
                continue
            try:
                self._hop("HEAD", url)
            except SourceError:
                # Transient, refused or garbled: none of it proves we are online.
                continue
            return True
        return False


def check_link(
    url: str, *, checker: LinkChecker | None = None, timeout: float | None = None
) -> LinkResult:
    """HEAD (GET where HEAD is refused), at most 5 re-validated redirects, 64 KiB read."""
    if checker is not None:
        return checker.check(url)
    with LinkChecker(timeout=timeout) as own:
        return own.check(url)


def canary_urls() -> list[str]:
    return list(getattr(settings, "LINK_CANARY_URLS", None) or DEFAULT_CANARY_URLS)


def network_canary(
    urls: Sequence[str] | None = None,
    *,
    checker: LinkChecker | None = None,
    timeout: float = CANARY_TIMEOUT,
) -> bool:
    """Whether we are online: some well-known site answers (any status counts).

    When this is False every link failure is ours, not theirs, and none should
    be recorded against a project.
    """
    targets = list(urls) if urls is not None else canary_urls()
    if checker is not None:
        return checker.reaches_any(targets)
    with LinkChecker(timeout=timeout) as own:
        return own.reaches_any(targets)
