"""GitHub: GraphQL in batches of 50 when a token is set, REST otherwise."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
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
from .http import Fetched, SourceClient, same_origin

logger = logging.getLogger(__name__)

API_VERSION = "2022-11-28"
GRAPHQL_BATCH_SIZE = 50
# A query that fails twice is halved, down to this size: GitHub stops a query it cannot
# finish in ten seconds with a 502/504, and advises asking for less. A failure that
# smaller queries do not cure is an outage; the next beat asks again.
GRAPHQL_SMALLEST_SPLIT = 8
# Without any hint GitHub asks clients to wait "at least one minute".
DEFAULT_RATE_LIMIT_WAIT = timedelta(seconds=60)
_RATE_LIMIT_ERROR_TYPES = frozenset({"RATE_LIMITED", "RATE_LIMIT"})
_REDIRECTS = frozenset({301, 302, 307, 308})

Clock = Callable[[], datetime]


def rate_limit_from_response(
    response: Fetched, *, now: datetime, resource: str
) -> RateLimited | None:
    """Return RateLimited when a 403/429 is GitHub's primary or secondary limit.

    Per GitHub's docs: ``retry-after`` wins; else ``x-ratelimit-remaining: 0``
    means wait until ``x-ratelimit-reset`` (epoch seconds); else a secondary
    limit message means wait at least a minute. A 403 without any of these is a
    permission problem, not a rate limit.
    """
    if response.status_code not in (403, 429):
        return None
    headers = response.headers
    remaining = headers.get("x-ratelimit-remaining")
    message = ""
    try:
        body = response.json()
        if isinstance(body, dict):
            message = str(body.get("message") or "")
    except SourceError:
        pass
    reset_at = retry_after_at(headers.get("retry-after"), now=now)
    if reset_at is None and remaining is not None and remaining.strip() == "0":
        reset_at = epoch_to_datetime(headers.get("x-ratelimit-reset"))
    if reset_at is None and (
        response.status_code == 429 or "rate limit" in message.lower() or remaining == "0"
    ):
        reset_at = now + DEFAULT_RATE_LIMIT_WAIT
    if reset_at is None:
        return None
    return RateLimited(
        message or f"GitHub {resource} rate limit ({response.status_code})",
        reset_at=reset_at,
        resource=headers.get("x-ratelimit-resource") or resource,
    )


def _license(info: Any, *, spdx_key: str, name_key: str) -> str | None:
    if not isinstance(info, Mapping):
        return None
    spdx = info.get(spdx_key)
    # "NOASSERTION" is GitHub's "a license file we could not classify".
    if spdx and spdx != "NOASSERTION":
        return str(spdx)
    name = info.get(name_key)
    return str(name) if name else None


class _GitHubClient(SourceClient):
    def _auth_headers(self) -> dict[str, str]:
        headers = {"X-GitHub-Api-Version": API_VERSION}
        token = settings.GITHUB_TOKEN
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers


class GitHubREST(_GitHubClient):
    """``GET /repos/{owner}/{repo}`` with ETags, plus the latest release and file contents."""

    source_name = "github-rest"

    def __init__(self, *, clock: Clock = utcnow, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._clock = clock

    @property
    def base_url(self) -> str:
        return settings.GITHUB_API_URL.rstrip("/")

    def _get(
        self,
        url: str,
        *,
        endpoint: str,
        headers: Mapping[str, str] | None = None,
        max_bytes: int | None = None,
    ) -> Fetched:
        """GET that follows one redirect (a renamed repository) within the API origin."""
        merged = {"Accept": "application/vnd.github+json", **self._auth_headers()}
        merged.update(headers or {})
        limit = {"max_bytes": max_bytes} if max_bytes else {}
        response = self._fetch("GET", url, endpoint=endpoint, headers=merged, **limit)
        self._raise_for_common(response)
        if response.status_code not in _REDIRECTS:
            return response
        location = response.headers.get("location")
        if not location:
            raise TransientError(f"GitHub redirected {url} without a Location")
        target = str(httpx.URL(url).join(location))
        # The token must never travel to another origin.
        if not same_origin(target, self.base_url):
            raise SourceError(f"GitHub redirected {url} off the API origin: {target}")
        merged.pop("If-None-Match", None)
        response = self._fetch("GET", target, endpoint=endpoint, headers=merged, **limit)
        self._raise_for_common(response)
        if response.status_code in _REDIRECTS:
            raise SourceError(f"GitHub redirected {url} more than once")
        return response

    def _raise_for_common(self, response: Fetched) -> None:
        limited = rate_limit_from_response(response, now=self._clock(), resource="core")
        if limited is not None:
            raise limited
        if response.status_code == 401:
            raise AuthenticationFailed("GitHub refused the token (401 Bad credentials)")
        if response.status_code >= 500:
            raise TransientError(f"GitHub answered {response.status_code} for {response.url}")

    def get_repo(self, ref: RepoRef, *, etag: str | None = None) -> RepoObservation:
        """Observe one repository; a 304 returns ``not_modified=True`` and no data."""
        url = f"{self.base_url}/repos/{quote(ref.owner, safe='')}/{quote(ref.name, safe='')}"
        headers = {"If-None-Match": etag} if etag else None
        response = self._get(url, endpoint="repos", headers=headers)
        if response.status_code == 304:
            return RepoObservation(
                ref=ref,
                not_modified=True,
                etag=response.headers.get("etag") or etag,
                source=self.source_name,
            )
        if response.status_code in (404, 410, 451):
            # 451 is a legal takedown: gone for everyone, just like a deletion.
            return RepoObservation(ref=ref, found=False, source=self.source_name)
        if response.status_code != 200:
            raise SourceError(f"GitHub answered {response.status_code} for {ref}")
        data = response.json()
        if not isinstance(data, dict) or not isinstance(data.get("full_name"), str):
            raise TransientError(f"unexpected repository body for {ref}")
        return self._observation(ref, data, etag=response.headers.get("etag"))

    def _observation(
        self, ref: RepoRef, data: Mapping[str, Any], *, etag: str | None
    ) -> RepoObservation:
        full_name = str(data["full_name"])
        # A followed 301 whose target has the same name (case aside) is no move.
        moved_to = ref.moved_to(full_name)
        owner = data.get("owner") if isinstance(data.get("owner"), Mapping) else {}
        return RepoObservation(
            ref=ref,
            found=True,
            archived=bool(data.get("archived")),
            pushed_at=parse_timestamp(data.get("pushed_at")),
            stars=int_or_none(data.get("stargazers_count")),
            forks=int_or_none(data.get("forks_count")),
            # REST counts open pull requests as issues; GraphQL does not.
            open_issues=int_or_none(data.get("open_issues_count")),
            license=_license(data.get("license"), spdx_key="spdx_id", name_key="name"),
            description=data.get("description"),
            url=data.get("html_url"),
            name_with_owner=full_name,
            moved_to=moved_to,
            etag=etag,
            avatar_url=owner.get("avatar_url") if owner else None,
            source=self.source_name,
        )

    def latest_release(self, ref: RepoRef) -> datetime | None:
        """``published_at`` of the latest (non-draft, non-prerelease) release; None if none."""
        url = (
            f"{self.base_url}/repos/{quote(ref.owner, safe='')}/"
            f"{quote(ref.name, safe='')}/releases/latest"
        )
        response = self._get(url, endpoint="releases")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise SourceError(f"GitHub answered {response.status_code} for {ref} releases")
        data = response.json()
        if not isinstance(data, dict):
            raise TransientError(f"unexpected release body for {ref}")
        return parse_timestamp(data.get("published_at") or data.get("created_at"))

    def observe(
        self, ref: RepoRef, *, etag: str | None = None, with_release: bool = True
    ) -> RepoObservation:
        """The repository plus its latest release date, in one observation.

        A 304 skips the release call: the caller keeps its stored data, and
        spending quota on the release alone would defeat the ETag. When the release
        call fails, the repository's answer still stands, with ``release_known=False``;
        a rate limit there carries that observation in ``exc.partial``.
        """
        observation = self.get_repo(ref, etag=etag)
        if not with_release or not observation.found or observation.not_modified:
            return observation
        target = observation.moved_to or ref
        try:
            released = self.latest_release(target)
        except RateLimited as exc:
            exc.partial = replace(observation, release_known=False)
            raise
        except SourceError as exc:
            logger.info("latest release of %s unknown this round: %s", target, exc)
            return replace(observation, release_known=False)
        return replace(observation, last_release_at=released)

    def fetch_file(self, ref: RepoRef, path: str, *, max_bytes: int = 1024 * 1024) -> str | None:
        """A file's raw text from the default branch, or None when it does not exist."""
        url = (
            f"{self.base_url}/repos/{quote(ref.owner, safe='')}/{quote(ref.name, safe='')}"
            f"/contents/{quote(path.lstrip('/'), safe='/')}"
        )
        response = self._get(
            url,
            endpoint="contents",
            headers={"Accept": "application/vnd.github.raw"},
            max_bytes=max_bytes,
        )
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise SourceError(f"GitHub answered {response.status_code} for {ref}:{path}")
        if response.truncated:
            raise SourceError(f"{ref}:{path} is larger than {max_bytes} bytes")
        return response.content.decode("utf-8", errors="replace")


_REPO_FIELDS = """
fragment RepoFields on Repository {
  nameWithOwner
  url
  description
  isArchived
  pushedAt
  stargazerCount
  forkCount
  licenseInfo { spdxId name }
  latestRelease { publishedAt }
  defaultBranchRef { target { ... on Commit { committedDate } } }
  issues(states: OPEN) { totalCount }
  owner { avatarUrl }
}
"""


def build_batch_query(refs: Sequence[RepoRef]) -> tuple[str, dict[str, str], dict[str, RepoRef]]:
    """The aliased query, its variables and the alias each ref is answered under.

    Owner and name travel as variables, never spliced into the query text.
    """
    params: list[str] = []
    selections: list[str] = []
    variables: dict[str, str] = {}
    aliases: dict[str, RepoRef] = {}
    for index, ref in enumerate(refs):
        alias = f"r{index}"
        params.append(f"$o{index}: String!, $n{index}: String!")
        selections.append(
            f"  {alias}: repository(owner: $o{index}, name: $n{index}) {{ ...RepoFields }}"
        )
        variables[f"o{index}"] = ref.owner
        variables[f"n{index}"] = ref.name
        aliases[alias] = ref
    query = (
        f"query Batch({', '.join(params)}) {{\n"
        "  rateLimit { limit cost remaining resetAt }\n"
        + "\n".join(selections)
        + "\n}\n"
        + _REPO_FIELDS
    )
    return query, variables, aliases


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    limit: int | None = None
    remaining: int | None = None
    cost: int | None = None
    reset_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class GraphQLBatch:
    """One batch's answers: an observation per resolved ref, an error per failed one.

    ``errors`` are refs GraphQL says it cannot tell about (a node-level error, or the
    whole query refused: a 4xx, an answer without data): REST may answer instead.
    ``unanswered`` are refs whose queries failed (5xx, timeouts) even retried and
    halved: GitHub is down for us, REST would fare no better.
    """

    observations: dict[RepoRef, RepoObservation] = field(default_factory=dict)
    errors: dict[RepoRef, SourceError] = field(default_factory=dict)
    rate_limit: RateLimitInfo = field(default_factory=RateLimitInfo)
    unanswered: dict[RepoRef, SourceError] = field(default_factory=dict)

    def add(self, other: GraphQLBatch) -> None:
        self.observations.update(other.observations)
        self.errors.update(other.errors)
        self.unanswered.update(other.unanswered)


class GitHubGraphQL(_GitHubClient):
    """Up to 50 repositories per POST, each under its own alias."""

    source_name = "github-graphql"
    batch_size = GRAPHQL_BATCH_SIZE

    def __init__(self, *, clock: Clock = utcnow, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._clock = clock
        self.last_rate_limit = RateLimitInfo()

    @property
    def url(self) -> str:
        return settings.GITHUB_GRAPHQL_URL

    def fetch(self, refs: Sequence[RepoRef]) -> GraphQLBatch:
        """Observe ``refs`` (at most 50) with one request.

        Raises RateLimited when the quota is spent; when the answer itself says
        ``remaining == 0`` its observations ride along in ``exc.partial``.
        """
        refs = list(dict.fromkeys(refs))
        if not refs:
            return GraphQLBatch()
        if len(refs) > self.batch_size:
            raise ValueError(f"at most {self.batch_size} repositories per GraphQL query")
        if not settings.GITHUB_TOKEN:
            raise AuthenticationFailed("GitHub GraphQL needs GITHUB_TOKEN")
        query, variables, aliases = build_batch_query(refs)
        headers = {"Accept": "application/json", **self._auth_headers()}
        response = self._fetch(
            "POST",
            self.url,
            endpoint="graphql",
            headers=headers,
            json_body={"query": query, "variables": variables},
        )
        now = self._clock()
        limited = rate_limit_from_response(response, now=now, resource="graphql")
        if limited is not None:
            raise limited
        if response.status_code == 401:
            raise AuthenticationFailed("GitHub refused the token (401)")
        if response.status_code >= 500:
            raise TransientError(f"GitHub GraphQL answered {response.status_code}")
        if response.status_code != 200:
            raise SourceError(f"GitHub GraphQL answered {response.status_code}")
        body = response.json()
        if not isinstance(body, dict):
            raise TransientError("GitHub GraphQL answered with a non-object body")
        errors = [e for e in body.get("errors") or [] if isinstance(e, Mapping)]
        if any(e.get("type") in _RATE_LIMIT_ERROR_TYPES for e in errors):
            reset_at = retry_after_at(
                response.headers.get("retry-after"), now=now
            ) or epoch_to_datetime(response.headers.get("x-ratelimit-reset"))
            raise RateLimited(
                str(errors[0].get("message") or "GitHub GraphQL rate limit exceeded"),
                reset_at=reset_at or now + DEFAULT_RATE_LIMIT_WAIT,
                resource="graphql",
            )
        data = body.get("data")
        if not isinstance(data, Mapping):
            messages = "; ".join(str(e.get("message")) for e in errors) or "no data"
            raise SourceError(f"GitHub GraphQL query failed: {messages}")
        rate = self._rate_limit(data.get("rateLimit"), response)
        self.last_rate_limit = rate
        errors_by_alias: dict[str, Mapping[str, Any]] = {}
        for error in errors:
            path = error.get("path")
            if isinstance(path, list) and path and isinstance(path[0], str):
                errors_by_alias.setdefault(path[0], error)
        batch = GraphQLBatch(rate_limit=rate)
        for alias, ref in aliases.items():
            node = data.get(alias)
            if isinstance(node, Mapping):
                batch.observations[ref] = self._observation(ref, node)
                continue
            error = errors_by_alias.get(alias)
            if error is not None and error.get("type") == "NOT_FOUND":
                batch.observations[ref] = RepoObservation(
                    ref=ref, found=False, source=self.source_name
                )
            else:
                # FORBIDDEN (SAML), timeouts, partial failures: ask again later.
                message = (error or {}).get("message") or "no data for this repository"
                batch.errors[ref] = TransientError(f"{ref}: {message}")
        if rate.remaining == 0:
            raise RateLimited(
                "GitHub GraphQL quota spent",
                reset_at=rate.reset_at or now + DEFAULT_RATE_LIMIT_WAIT,
                resource="graphql",
                partial=batch,
            )
        return batch

    def fetch_all(self, refs: Sequence[RepoRef]) -> GraphQLBatch:
        """Observe any number of refs in batches of 50 (stops by raising RateLimited).

        A query that fails (5xx, timeout, dropped, malformed) is sent once more, then
        halved, recursively down to ``GRAPHQL_SMALLEST_SPLIT``; what still fails lands
        in ``unanswered``. On RateLimited, ``exc.partial`` holds everything gathered
        before it.
        """
        merged = GraphQLBatch()
        unique = list(dict.fromkeys(refs))
        try:
            for start in range(0, len(unique), self.batch_size):
                self._fetch_halving(unique[start : start + self.batch_size], merged)
        except RateLimited as exc:
            if isinstance(exc.partial, GraphQLBatch):
                merged.add(exc.partial)
            exc.partial = replace(merged, rate_limit=self.last_rate_limit)
            raise
        return replace(merged, rate_limit=self.last_rate_limit)

    def _fetch_halving(self, refs: list[RepoRef], into: GraphQLBatch) -> None:
        failure: TransientError | None = None
        for _attempt in range(2):
            try:
                into.add(self.fetch(refs))
                return
            except RateLimited:
                raise
            except TransientError as exc:
                failure = exc
            except SourceError as exc:
                # Refused, not failed (a 4xx, an answer without data): asking again
                # would not help, REST may.
                into.errors.update(dict.fromkeys(refs, exc))
                return
        assert failure is not None
        if len(refs) <= GRAPHQL_SMALLEST_SPLIT:
            into.unanswered.update(dict.fromkeys(refs, failure))
            return
        half = (len(refs) + 1) // 2
        logger.info(
            "GitHub GraphQL failed twice for %d repositories (%s): halving", len(refs), failure
        )
        self._fetch_halving(refs[:half], into)
        self._fetch_halving(refs[half:], into)

    def _rate_limit(self, node: Any, response: Fetched) -> RateLimitInfo:
        if isinstance(node, Mapping):
            return RateLimitInfo(
                limit=int_or_none(node.get("limit")),
                remaining=int_or_none(node.get("remaining")),
                cost=int_or_none(node.get("cost")),
                reset_at=parse_timestamp(node.get("resetAt")),
            )
        remaining = response.headers.get("x-ratelimit-remaining")
        return RateLimitInfo(
            remaining=int(remaining) if remaining and remaining.isdigit() else None,
            reset_at=epoch_to_datetime(response.headers.get("x-ratelimit-reset")),
        )

    def _observation(self, ref: RepoRef, node: Mapping[str, Any]) -> RepoObservation:
        name_with_owner = node.get("nameWithOwner")
        moved_to = ref.moved_to(name_with_owner)
        branch = node.get("defaultBranchRef")
        target = branch.get("target") if isinstance(branch, Mapping) else None
        release = node.get("latestRelease")
        issues = node.get("issues")
        owner = node.get("owner")
        return RepoObservation(
            ref=ref,
            found=True,
            archived=bool(node.get("isArchived")),
            pushed_at=parse_timestamp(node.get("pushedAt")),
            last_commit_at=parse_timestamp(target.get("committedDate"))
            if isinstance(target, Mapping)
            else None,
            last_release_at=parse_timestamp(release.get("publishedAt"))
            if isinstance(release, Mapping)
            else None,
            stars=int_or_none(node.get("stargazerCount")),
            forks=int_or_none(node.get("forkCount")),
            open_issues=int_or_none(issues.get("totalCount"))
            if isinstance(issues, Mapping)
            else None,
            license=_license(node.get("licenseInfo"), spdx_key="spdxId", name_key="name"),
            description=node.get("description"),
            url=node.get("url"),
            name_with_owner=name_with_owner if isinstance(name_with_owner, str) else None,
            moved_to=moved_to,
            avatar_url=owner.get("avatarUrl") if isinstance(owner, Mapping) else None,
            source=self.source_name,
        )


def make_github_client(**kwargs: Any) -> GitHubGraphQL | GitHubREST:
    """GraphQL whenever a token is configured, REST otherwise."""
    return GitHubGraphQL(**kwargs) if settings.GITHUB_TOKEN else GitHubREST(**kwargs)
