"""PyPI: the latest upload date of a package, so PyPI-only releases count as activity."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from django.conf import settings

from .base import RateLimited, SourceError, TransientError, parse_timestamp, retry_after_at
from .http import SourceClient, same_origin

_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
_PYPI_HOSTS = frozenset({"pypi.org", "www.pypi.org", "pypi.python.org"})
MAX_REDIRECTS = 3


def normalize_name(name: str) -> str:
    """PEP 503 normalisation; PyPI redirects every other spelling to this one."""
    return re.sub(r"[-_.]+", "-", name).lower()


def package_name_from_urls(urls: Iterable[str | None]) -> str | None:
    """The package named by the first pypi.org project link among ``urls``.

    Accepts ``pypi.org/project/NAME/``, ``pypi.org/p/NAME`` and the legacy
    ``pypi.python.org/pypi/NAME``; a version suffix is ignored.
    """
    for url in urls:
        if not url:
            continue
        text = url.strip()
        if "://" not in text:
            text = f"https://{text}"
        try:
            parts = urlsplit(text)
            host = (parts.hostname or "").lower()
        except ValueError:
            continue
        if host not in _PYPI_HOSTS:
            continue
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) >= 2 and segments[0] in {"project", "p", "pypi"}:
            name = segments[1]
            if _NAME.match(name):
                return normalize_name(name)
    return None


def latest_upload(data: Mapping[str, Any]) -> datetime | None:
    """The newest non-yanked file upload over every release in a project JSON."""
    newest: datetime | None = None
    releases = data.get("releases")
    files: list[Any] = []
    if isinstance(releases, Mapping):
        for release_files in releases.values():
            if isinstance(release_files, list):
                files.extend(release_files)
    # ``releases`` is deprecated upstream; ``urls`` (the latest version's files) remains.
    urls = data.get("urls")
    if isinstance(urls, list):
        files.extend(urls)
    for item in files:
        if not isinstance(item, Mapping) or item.get("yanked"):
            continue
        uploaded = parse_timestamp(item.get("upload_time_iso_8601") or item.get("upload_time"))
        if uploaded is not None and (newest is None or uploaded > newest):
            newest = uploaded
    return newest


class PyPIClient(SourceClient):
    source_name = "pypi"

    @property
    def base_url(self) -> str:
        return settings.PYPI_URL.rstrip("/")

    def project_json(self, name: str) -> Mapping[str, Any] | None:
        """``GET /pypi/{name}/json``, following PyPI's canonical-name redirects; None on 404."""
        url = f"{self.base_url}/pypi/{quote(normalize_name(name), safe='')}/json"
        for _ in range(MAX_REDIRECTS + 1):
            response = self._fetch(
                "GET", url, endpoint="pypi", headers={"Accept": "application/json"}
            )
            if response.status_code in (301, 302, 307, 308):
                location = response.headers.get("location")
                target = str(httpx.URL(url).join(location)) if location else ""
                if not target or not same_origin(target, self.base_url):
                    raise SourceError(f"PyPI redirected {name} to {target or 'nowhere'}")
                url = target
                continue
            if response.status_code == 404:
                return None
            if response.status_code == 429:
                now = datetime.now(UTC)
                raise RateLimited(
                    "PyPI rate limit",
                    reset_at=retry_after_at(response.headers.get("retry-after"), now=now)
                    or now + timedelta(seconds=60),
                    resource="pypi",
                )
            if response.status_code >= 500:
                raise TransientError(f"PyPI answered {response.status_code} for {name}")
            if response.status_code != 200:
                raise SourceError(f"PyPI answered {response.status_code} for {name}")
            data = response.json()
            if not isinstance(data, Mapping):
                raise TransientError(f"unexpected PyPI body for {name}")
            return data
        raise SourceError(f"PyPI redirected {name} too many times")

    def latest_release(self, name: str) -> datetime | None:
        data = self.project_json(name)
        return latest_upload(data) if data is not None else None


def latest_release(name: str, *, client: PyPIClient | None = None) -> datetime | None:
    """The latest upload date of ``name`` on PyPI, or None when it is not there."""
    if client is not None:
        return client.latest_release(name)
    with PyPIClient() as own:
        return own.latest_release(name)
