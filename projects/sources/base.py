"""The shape every source shares: repository references, observations and errors.

Nothing here performs I/O, so the health rules and the service layer can import
these types without pulling in an HTTP stack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

GITHUB = "github.com"
GITLAB = "gitlab.com"
HOST_LABELS = {GITHUB: "GitHub", GITLAB: "GitLab"}

# First path segments on github.com that are site pages, never an owner.
_GITHUB_RESERVED_OWNERS = frozenset(
    {
        "about", "apps", "collections", "customer-stories", "enterprise", "events",
        "explore", "features", "login", "marketplace", "new", "notifications",
        "orgs", "organizations", "pricing", "pulls", "issues", "search", "security",
        "settings", "site", "sponsors", "topics", "trending", "users",
    }
)  # fmt: skip
# Old GitLab URLs put these right after the project path, without the "/-/" separator.
_GITLAB_LEGACY_SUBPAGES = frozenset(
    {
        "tree", "blob", "raw", "issues", "merge_requests", "wikis", "commits",
        "commit", "pipelines", "releases", "tags", "branches", "graphs", "activity",
    }
)  # fmt: skip
_GITHUB_OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_REPO_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_GITLAB_SEGMENT = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_.-]*$")
_SCP_LIKE = re.compile(r"^git@(?P<host>[^:/]+):(?P<path>.+)$")


@dataclass(frozen=True, slots=True)
class RepoRef:
    """A repository on a forge, as ``host`` + ``owner`` + ``name``.

    ``owner`` may contain slashes on GitLab (nested groups).
    """

    host: str
    owner: str
    name: str

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def url(self) -> str:
        return f"https://{self.host}/{self.owner}/{self.name}"

    @property
    def host_label(self) -> str:
        return HOST_LABELS.get(self.host, self.host)

    def same_repo(self, other: RepoRef | None) -> bool:
        """Forges treat owner and name case-insensitively; so do we."""
        return (
            other is not None
            and self.host == other.host
            and self.full_name.lower() == other.full_name.lower()
        )

    def moved_to(self, full_name: Any) -> RepoRef | None:
        """The repository the forge answered with, when it is not this one (a rename or a
        transfer); None when it is the same (case aside) or the name is unusable."""
        if not isinstance(full_name, str):
            return None
        current = RepoRef.from_full_name(self.host, full_name)
        return current if current is not None and not self.same_repo(current) else None

    @classmethod
    def from_full_name(cls, host: str, full_name: str) -> RepoRef | None:
        owner, sep, name = full_name.strip("/").rpartition("/")
        if not sep or not owner or not name:
            return None
        return cls(host=host, owner=owner, name=name)

    def __str__(self) -> str:
        return f"{self.host}/{self.full_name}"


def parse_repo_url(url: str | None) -> RepoRef | None:
    """Return the repository a github.com/gitlab.com URL points into, or None.

    Extra path (``/tree/main``, ``/graphs/commit-activity``, ``/-/issues``), a
    trailing ``.git`` or slash, a query and a fragment are ignored. An owner-only
    URL (an organization page) is not a repository and yields None.
    """
    if not url:
        return None
    text = url.strip()
    scp = _SCP_LIKE.match(text)
    if scp:
        text = f"ssh://{scp['host']}/{scp['path']}"
    elif "://" not in text:
        text = f"https://{text}"
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if parts.scheme not in {"http", "https", "ssh", "git"}:
        return None
    if host.startswith("www."):
        host = host[4:]
    segments = [s for s in parts.path.split("/") if s]
    if host == GITHUB:
        return _parse_github(segments)
    if host == GITLAB:
        return _parse_gitlab(segments)
    return None


def _strip_git(name: str) -> str:
    return name[:-4] if name.lower().endswith(".git") else name


def _parse_github(segments: list[str]) -> RepoRef | None:
    if len(segments) < 2:
        return None
    owner, name = segments[0], _strip_git(segments[1])
    if owner.lower() in _GITHUB_RESERVED_OWNERS:
        return None
    if not _GITHUB_OWNER.match(owner) or not _REPO_NAME.match(name) or name in {".", ".."}:
        return None
    return RepoRef(host=GITHUB, owner=owner, name=name)


def _parse_gitlab(segments: list[str]) -> RepoRef | None:
    path: list[str] = []
    for index, segment in enumerate(segments):
        if segment == "-":
            break
        if index >= 2 and segment in _GITLAB_LEGACY_SUBPAGES:
            break
        path.append(segment)
    if len(path) < 2:
        return None
    path[-1] = _strip_git(path[-1])
    if not all(_GITLAB_SEGMENT.match(s) for s in path):
        return None
    if path[0].lower() in {"explore", "groups", "users", "dashboard", "help", "search"}:
        return None
    return RepoRef(host=GITLAB, owner="/".join(path[:-1]), name=path[-1])


@dataclass(frozen=True, slots=True)
class RepoObservation:
    """What one check saw of one repository.

    ``found=False`` means the forge answered that the repository does not exist
    (a definite 404 / NOT_FOUND), never that we failed to ask. ``not_modified``
    means a conditional request matched the stored ETag: every data field is
    then None and the caller keeps what it stored. ``release_known=False`` means
    the latest release could not be asked this time (its own request failed):
    ``last_release_at`` is then no answer, not "no release".
    """

    ref: RepoRef
    found: bool = True
    archived: bool | None = None
    pushed_at: datetime | None = None
    last_commit_at: datetime | None = None
    last_release_at: datetime | None = None
    stars: int | None = None
    forks: int | None = None
    open_issues: int | None = None
    license: str | None = None
    description: str | None = None
    url: str | None = None
    name_with_owner: str | None = None
    moved_to: RepoRef | None = None
    etag: str | None = None
    not_modified: bool = False
    avatar_url: str | None = None
    source: str = ""
    release_known: bool = True

    @property
    def last_activity_at(self) -> datetime | None:
        dates = [d for d in (self.pushed_at, self.last_commit_at) if d is not None]
        return max(dates) if dates else None


class SourceError(Exception):
    """A source could not give an answer about a repository or link."""


class TransientError(SourceError):
    """5xx, timeouts, DNS and connection failures, malformed bodies: try again later."""


class AuthenticationFailed(SourceError):
    """The configured token was refused (401): a configuration problem, not a project's."""


class OutboundRefused(SourceError):
    """The SSRF guard refused to connect to an address."""


class RateLimited(SourceError):
    """The source's quota is spent until ``reset_at`` (aware UTC).

    ``partial`` carries results that arrived together with the exhaustion
    signal (GraphQL reports ``remaining == 0`` alongside valid data), so the
    caller can keep them instead of asking again after the reset.
    """

    def __init__(
        self,
        message: str,
        *,
        reset_at: datetime,
        resource: str | None = None,
        partial: object | None = None,
    ) -> None:
        super().__init__(message)
        if reset_at.tzinfo is None:
            reset_at = reset_at.replace(tzinfo=UTC)
        self.reset_at = reset_at.astimezone(UTC)
        self.resource = resource
        self.partial = partial


@dataclass
class RequestCounter:
    """Counts outbound requests so a run can report the API requests it used."""

    requests_made: int = 0
    by_endpoint: dict[str, int] = field(default_factory=dict)

    def add(self, endpoint: str) -> None:
        self.requests_made += 1
        self.by_endpoint[endpoint] = self.by_endpoint.get(endpoint, 0) + 1


def parse_timestamp(value: object) -> datetime | None:
    """Parse an ISO 8601 timestamp from an API into an aware UTC datetime."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        # PyPI's legacy ``upload_time`` and some GitLab fields omit the zone; they are UTC.
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def epoch_to_datetime(value: object) -> datetime | None:
    try:
        seconds = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def retry_after_at(value: str | None, *, now: datetime) -> datetime | None:
    """When a ``Retry-After`` header says to come back: delay-seconds or an HTTP-date
    (RFC 9110, 10.2.3). None when the header is absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return now + timedelta(seconds=int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    # A date already past (clock skew) means "now", never a wait into the past.
    return max(when.astimezone(UTC), now)


def utcnow() -> datetime:
    return datetime.now(UTC)


def int_or_none(value: Any) -> int | None:
    """An integer from a JSON body, refusing booleans (JSON true is not a count)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None
