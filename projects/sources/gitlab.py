"""GitLab: ``GET /api/v4/projects/{url-encoded path}``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from django.conf import settings

from .base import (
    AuthenticationFailed,
    RateLimited,
    RepoObservation,
    RepoRef,
    SourceError,
    TransientError,
    epoch_to_datetime,
    int_or_none,
    parse_timestamp,
    retry_after_at,
    utcnow,
)
from .http import Fetched, SourceClient

DEFAULT_RATE_LIMIT_WAIT = timedelta(seconds=60)


class GitLabClient(SourceClient):
    source_name = "gitlab"

    def __init__(self, *, clock: Callable[[], datetime] = utcnow, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._clock = clock

    @property
    def base_url(self) -> str:
        return settings.GITLAB_API_URL.rstrip("/")

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        token = getattr(settings, "GITLAB_TOKEN", "")
        if token:
            headers["PRIVATE-TOKEN"] = token
        return headers

    def _rate_limited(self, response: Fetched) -> RateLimited | None:
        headers = response.headers
        remaining = (headers.get("ratelimit-remaining") or "").strip()
        if response.status_code != 429 and not (response.status_code == 403 and remaining == "0"):
            return None
        now = self._clock()
        reset_at = retry_after_at(headers.get("retry-after"), now=now) or epoch_to_datetime(
            headers.get("ratelimit-reset")
        )
        return RateLimited(
            f"GitLab rate limit ({response.status_code})",
            reset_at=reset_at or now + DEFAULT_RATE_LIMIT_WAIT,
            resource="gitlab",
        )

    def get_project(self, ref: RepoRef) -> RepoObservation:
        # GitLab wants the whole "group/sub/project" path as one encoded segment.
        project_id = quote(ref.full_name, safe="")
        url = f"{self.base_url}/api/v4/projects/{project_id}?license=true"
        response = self._fetch("GET", url, endpoint="projects", headers=self._headers())
        limited = self._rate_limited(response)
        if limited is not None:
            raise limited
        if response.status_code == 401:
            raise AuthenticationFailed("GitLab refused the token (401)")
        if response.status_code >= 500:
            raise TransientError(f"GitLab answered {response.status_code} for {ref}")
        if response.status_code == 404:
            return RepoObservation(ref=ref, found=False, source=self.source_name)
        if response.status_code != 200:
            raise SourceError(f"GitLab answered {response.status_code} for {ref}")
        data = response.json()
        if not isinstance(data, Mapping) or not isinstance(data.get("path_with_namespace"), str):
            raise TransientError(f"unexpected project body for {ref}")
        path = str(data["path_with_namespace"])
        # GitLab follows redirect routes of renamed/transferred projects and answers 200.
        moved_to = ref.moved_to(path)
        license_info = data.get("license")
        namespace = data.get("namespace")
        avatar = data.get("avatar_url") or (
            namespace.get("avatar_url") if isinstance(namespace, Mapping) else None
        )
        return RepoObservation(
            ref=ref,
            found=True,
            archived=bool(data.get("archived")),
            # GitLab's closest equivalent of pushed_at also moves with issue activity.
            pushed_at=parse_timestamp(data.get("last_activity_at")),
            stars=int_or_none(data.get("star_count")),
            forks=int_or_none(data.get("forks_count")),
            # Absent when the project has issues disabled.
            open_issues=int_or_none(data.get("open_issues_count")),
            license=str(license_info.get("name"))
            if isinstance(license_info, Mapping) and license_info.get("name")
            else None,
            description=data.get("description"),
            url=data.get("web_url"),
            name_with_owner=path,
            moved_to=moved_to,
            avatar_url=avatar,
            source=self.source_name,
        )

    observe = get_project
