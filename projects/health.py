"""Pure status decisions: repository health and the findings a human should review.

No I/O and no ORM. The service layer keeps one ``RepoState`` per repository
and one ``LinkState`` per URL (mapping them to model fields), folds every check
into them with ``record_*``, then asks ``decide_health`` / ``decide_findings``.
Every decision comes with ``evidence`` (JSON-ready) and ``words`` for people.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from projects.sources.base import HOST_LABELS, parse_repo_url

if TYPE_CHECKING:
    from projects.sources.base import RepoObservation
    from projects.sources.links import LinkResult


class Health(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    ARCHIVED = "archived"
    MISSING = "missing"
    UNKNOWN = "unknown"


class FindingKind(StrEnum):
    LISTED_ARCHIVED_BUT_ACTIVE = "listed_archived_but_active"
    ARCHIVED_UPSTREAM = "archived_upstream"
    REPOSITORY_MOVED = "repository_moved"
    REPOSITORY_MISSING = "repository_missing"
    INACTIVE = "inactive"
    LINK_BROKEN = "link_broken"
    LINK_REDIRECTED = "link_redirected"


ARCHIVED_MATURITY = "archived"


@dataclass(frozen=True, slots=True)
class Thresholds:
    inactive_days: int = 365
    recent_activity_days: int = 180
    missing_checks: int = 2
    missing_min_hours: float = 1.0
    link_broken_checks: int = 3
    link_broken_min_hours: float = 24.0

    @classmethod
    def from_settings(cls) -> Thresholds:
        from django.conf import settings

        defaults = cls()
        return cls(
            inactive_days=getattr(settings, "HEALTH_INACTIVE_DAYS", defaults.inactive_days),
            recent_activity_days=getattr(
                settings, "HEALTH_RECENT_ACTIVITY_DAYS", defaults.recent_activity_days
            ),
            missing_checks=getattr(settings, "HEALTH_MISSING_CHECKS", defaults.missing_checks),
            missing_min_hours=getattr(
                settings, "HEALTH_MISSING_MIN_HOURS", defaults.missing_min_hours
            ),
            link_broken_checks=getattr(settings, "LINK_BROKEN_CHECKS", defaults.link_broken_checks),
            link_broken_min_hours=getattr(
                settings, "LINK_BROKEN_MIN_HOURS", defaults.link_broken_min_hours
            ),
        )


# --- Repository state ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RepoState:
    """Everything the rules need to know about one repository.

    ``last_success_at`` is the last time the forge gave an answer (found, not
    found, or 304); ``consecutive_failures`` counts attempts since then that got
    no answer (5xx, timeouts, rate limits, DNS). ``release_checked_at`` is when the
    forge last told the latest release; behind ``last_found_at`` while the release's
    own request fails, and None if it never told it.
    """

    host: str = "github.com"
    url: str | None = None
    last_checked_at: datetime | None = None
    last_success_at: datetime | None = None
    last_found_at: datetime | None = None
    found: bool | None = None
    archived: bool = False
    pushed_at: datetime | None = None
    last_commit_at: datetime | None = None
    last_release_at: datetime | None = None
    release_checked_at: datetime | None = None
    pypi_release_at: datetime | None = None
    moved_to: str | None = None
    not_found_count: int = 0
    first_not_found_at: datetime | None = None
    last_not_found_at: datetime | None = None
    consecutive_failures: int = 0
    last_error: str | None = None


def record_observation(
    state: RepoState, observation: RepoObservation, *, now: datetime
) -> RepoState:
    """Fold one answer from the forge into the state."""
    answered = replace(
        state,
        host=observation.ref.host,
        last_checked_at=now,
        last_success_at=now,
        consecutive_failures=0,
        last_error=None,
    )
    if observation.not_modified:
        # A 304 says "exactly what you stored": the repository is there, data unchanged.
        return replace(
            answered,
            found=True,
            last_found_at=now,
            # The release is as stored: the ETag vouches for what we stored with it.
            release_checked_at=now,
            not_found_count=0,
            first_not_found_at=None,
            last_not_found_at=None,
        )
    if not observation.found:
        return replace(
            answered,
            found=False,
            not_found_count=state.not_found_count + 1,
            first_not_found_at=state.first_not_found_at or now,
            last_not_found_at=now,
        )
    return replace(
        answered,
        url=observation.url or state.url,
        found=True,
        last_found_at=now,
        archived=bool(observation.archived),
        pushed_at=observation.pushed_at,
        last_commit_at=observation.last_commit_at,
        # A release request that failed is no answer: the last known release still counts.
        last_release_at=observation.last_release_at
        if observation.release_known
        else state.last_release_at,
        release_checked_at=now if observation.release_known else state.release_checked_at,
        moved_to=observation.moved_to.url if observation.moved_to else None,
        not_found_count=0,
        first_not_found_at=None,
        last_not_found_at=None,
    )


def record_pypi_release(state: RepoState, released_at: datetime | None) -> RepoState:
    return replace(state, pypi_release_at=released_at)


def record_failure(state: RepoState, *, now: datetime, error: str) -> RepoState:
    """A check that got no answer: remembered, but it changes no data and no health."""
    return replace(
        state,
        last_checked_at=now,
        consecutive_failures=state.consecutive_failures + 1,
        last_error=error,
    )


@dataclass(frozen=True, slots=True)
class HealthDecision:
    health: Health
    words: tuple[str, ...]
    evidence: dict[str, Any] = field(default_factory=dict)

    def __iter__(self):  # allows ``health, words = decide_health(...)``
        return iter((self.health, self.words))


def _day(value: datetime | None) -> str | None:
    return value.date().isoformat() if value else None


def _minute(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _activity(state: RepoState) -> list[tuple[datetime, str]]:
    label = HOST_LABELS.get(state.host, state.host)
    candidates = [
        (state.pushed_at, "push"),
        (state.last_commit_at, "commit"),
        (state.last_release_at, f"release on {label}"),
        (state.pypi_release_at, "release on PyPI"),
    ]
    return sorted(((d, what) for d, what in candidates if d is not None), reverse=True)


def _release_unknown(state: RepoState) -> bool:
    """The latest answer found the repository but could not tell its latest release."""
    return state.last_found_at is not None and (
        state.release_checked_at is None or state.release_checked_at < state.last_found_at
    )


def _missing_confirmed(state: RepoState, t: Thresholds) -> bool:
    if state.found is not False or state.not_found_count < t.missing_checks:
        return False
    if state.first_not_found_at is None or state.last_not_found_at is None:
        return False
    span = state.last_not_found_at - state.first_not_found_at
    return span >= timedelta(hours=t.missing_min_hours)


def _evidence(state: RepoState, activity: list[tuple[datetime, str]]) -> dict[str, Any]:
    return {
        "host": state.host,
        "archived": state.archived,
        "found": state.found,
        "last_push": _day(state.pushed_at),
        "last_commit": _day(state.last_commit_at),
        "last_release": _day(state.last_release_at),
        "last_pypi_release": _day(state.pypi_release_at),
        "last_activity": _day(activity[0][0]) if activity else None,
        "not_found_count": state.not_found_count,
        "not_found_since": state.first_not_found_at.isoformat()
        if state.first_not_found_at
        else None,
        "checked_at": state.last_success_at.isoformat() if state.last_success_at else None,
        "last_error": state.last_error,
    }


def decide_health(
    state: RepoState, *, now: datetime, thresholds: Thresholds | None = None
) -> HealthDecision:
    """Health per the rules: archived > missing > inactive > active; unknown if never answered.

    While the latest attempts failed, the decision is taken as of the last
    answer, so a failure can never move health (not even by letting time pass).
    """
    t = thresholds or Thresholds.from_settings()
    label = HOST_LABELS.get(state.host, state.host)
    activity = _activity(state)
    evidence = _evidence(state, activity)
    if state.last_success_at is None:
        words = ["never checked successfully"]
        if state.last_error:
            words.append(f"last error: {state.last_error}")
        evidence["health"] = Health.UNKNOWN.value
        return HealthDecision(Health.UNKNOWN, tuple(words), evidence)

    at = state.last_success_at if state.consecutive_failures else now
    notes: list[str] = []
    if state.consecutive_failures:
        notes.append(
            f"last {state.consecutive_failures} check(s) failed ({state.last_error}); "
            f"status as of {_minute(state.last_success_at)}"
        )

    health: Health
    words: list[str] = []
    if state.found is False:
        if _missing_confirmed(state, t):
            assert state.first_not_found_at is not None
            health = Health.MISSING
            words.append(
                f"not found on {label} on {state.not_found_count} checks since "
                f"{_minute(state.first_not_found_at)}"
            )
            evidence["health"] = health.value
            return HealthDecision(health, tuple(words + notes), evidence)
        assert state.first_not_found_at is not None
        notes.append(
            f"not found on {label} since {_minute(state.first_not_found_at)}; "
            "waiting for a confirming check"
        )
        if state.last_found_at is None:
            evidence["health"] = Health.UNKNOWN.value
            return HealthDecision(Health.UNKNOWN, ("never found", *notes), evidence)

    inactive_after = timedelta(days=t.inactive_days)
    if state.archived:
        health = Health.ARCHIVED
        words.append(f"archived on {label}")
    elif not activity:
        health = Health.INACTIVE
        words.append(f"no push, commit or release date known on {label}")
    else:
        latest, what = activity[0]
        idle = at - latest
        if idle >= inactive_after:
            health = Health.INACTIVE
            words.append(f"no commit or release since {_day(latest)}")
        else:
            health = Health.ACTIVE
            words.append(f"last {what} on {_day(latest)}")
    if health is Health.INACTIVE and _release_unknown(state):
        # A release we could not ask about may be newer than every date we know, so it can
        # only keep a repository alive: inactive stands only if it already stood when the
        # release was last known.
        known_at = state.release_checked_at
        evidence["release_unknown_since"] = _day(known_at)
        if known_at is None:
            health = Health.UNKNOWN
            words = [f"latest release on {label} not known yet (its request failed)"]
        elif activity and known_at - activity[0][0] < inactive_after:
            health = Health.ACTIVE
            latest, what = activity[0]
            words = [
                f"last {what} on {_day(latest)}",
                f"latest release on {label} unknown since {_minute(known_at)}; status as of then",
            ]
    evidence["health"] = health.value
    return HealthDecision(health, tuple(words + notes), evidence)


# --- Links -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LinkState:
    """Status of one listed URL; ``field`` names the listing field it came from."""

    url: str
    field: str = ""
    last_checked_at: datetime | None = None
    last_ok_at: datetime | None = None
    ok: bool | None = None
    status_code: int | None = None
    error: str | None = None
    consecutive_failures: int = 0
    first_failure_at: datetime | None = None
    last_failure_at: datetime | None = None
    permanent_redirect_to: str | None = None
    final_url: str | None = None


def record_link_result(
    state: LinkState | None,
    result: LinkResult,
    *,
    now: datetime,
    network_ok: bool = True,
    field_name: str = "",
) -> LinkState:
    """Fold a check into the state; with the network down nothing is recorded."""
    current = state or LinkState(url=result.url, field=field_name)
    if not network_ok:
        return current
    common = {
        "last_checked_at": now,
        "status_code": result.status_code,
        "permanent_redirect_to": result.permanent_redirect_to,
        "final_url": result.final_url,
    }
    if result.ok:
        return replace(
            current,
            ok=True,
            last_ok_at=now,
            error=None,
            consecutive_failures=0,
            first_failure_at=None,
            last_failure_at=None,
            **common,
        )
    return replace(
        current,
        ok=False,
        error=result.error,
        consecutive_failures=current.consecutive_failures + 1,
        first_failure_at=current.first_failure_at or now,
        last_failure_at=now,
        **common,
    )


def _comparable_url(url: str) -> str:
    """Ignore differences no listing needs updating for: case of host, default port,
    trailing slash and fragment."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url
    host = (parts.hostname or "").lower()
    port = parts.port
    if port and not (
        (parts.scheme == "http" and port == 80) or (parts.scheme == "https" and port == 443)
    ):
        host = f"{host}:{port}"
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), host, path, parts.query, ""))


def link_is_broken(state: LinkState, thresholds: Thresholds) -> bool:
    if state.ok is not False or state.consecutive_failures < thresholds.link_broken_checks:
        return False
    if state.first_failure_at is None or state.last_failure_at is None:
        return False
    span = state.last_failure_at - state.first_failure_at
    return span >= timedelta(hours=thresholds.link_broken_min_hours)


# --- Findings --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Listing:
    """What the directory currently says about the entry."""

    maturity: str | None = None
    repo_url: str | None = None


@dataclass(frozen=True, slots=True)
class FindingDecision:
    """A disagreement between listing and reality.

    ``subject`` tells findings of one kind apart within an entry (the URL for
    link findings, "repository" otherwise). ``fingerprint`` changes only when
    the substance changes, so a dismissed finding stays dismissed until then.
    ``suggestion`` is what "apply" would do: {"action": "unarchive" |
    "mark_archived" | "update_url", "field": ..., "value": ...}.
    """

    kind: FindingKind
    subject: str
    evidence: dict[str, Any]
    words: tuple[str, ...]
    suggestion: dict[str, Any] | None
    fingerprint: str


def _fingerprint(kind: FindingKind, subject: str, key: dict[str, Any]) -> str:
    payload = json.dumps([kind.value, subject, key], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def _finding(
    kind: FindingKind,
    *,
    subject: str = "repository",
    key: dict[str, Any],
    evidence: dict[str, Any],
    words: Sequence[str],
    suggestion: dict[str, Any] | None = None,
) -> FindingDecision:
    return FindingDecision(
        kind=kind,
        subject=subject,
        evidence=evidence,
        words=tuple(words),
        suggestion=suggestion,
        fingerprint=_fingerprint(kind, subject, key),
    )


def _repo_findings(
    listing: Listing, state: RepoState, now: datetime, t: Thresholds
) -> list[FindingDecision]:
    decision = decide_health(state, now=now, thresholds=t)
    health = decision.health
    label = HOST_LABELS.get(state.host, state.host)
    listed_archived = (listing.maturity or "").strip().lower() == ARCHIVED_MATURITY
    evidence = {**decision.evidence, "maturity": listing.maturity, "repo_url": listing.repo_url}
    at = state.last_success_at if state.consecutive_failures else now
    findings: list[FindingDecision] = []

    if health is Health.ARCHIVED and not listed_archived:
        findings.append(
            _finding(
                FindingKind.ARCHIVED_UPSTREAM,
                key={"archived": True, "url": listing.repo_url},
                evidence=evidence,
                words=(f"archived on {label}", f"listed as {listing.maturity or 'not archived'}"),
                suggestion={"action": "mark_archived", "field": "maturity", "value": "archived"},
            )
        )

    if (
        listed_archived
        and at is not None
        and state.found is not False
        and state.last_found_at is not None
        and not state.archived
    ):
        activity = _activity(state)
        if activity and at - activity[0][0] <= timedelta(days=t.recent_activity_days):
            latest, what = activity[0]
            findings.append(
                _finding(
                    FindingKind.LISTED_ARCHIVED_BUT_ACTIVE,
                    key={"maturity": ARCHIVED_MATURITY, "archived": False, "url": listing.repo_url},
                    evidence=evidence,
                    words=(
                        "listed as archived",
                        f"not archived on {label}",
                        f"last {what} on {_day(latest)}",
                    ),
                    suggestion={"action": "unarchive", "field": "maturity"},
                )
            )

    if health is Health.MISSING:
        findings.append(
            _finding(
                FindingKind.REPOSITORY_MISSING,
                key={"url": listing.repo_url, "since": _day(state.first_not_found_at)},
                evidence=evidence,
                words=decision.words,
            )
        )

    if health is Health.INACTIVE and not listed_archived:
        findings.append(
            _finding(
                FindingKind.INACTIVE,
                key={"last_activity": evidence.get("last_activity")},
                evidence=evidence,
                words=(*decision.words, f"threshold {t.inactive_days} days"),
            )
        )

    if state.moved_to and state.found is not False:
        listed = parse_repo_url(listing.repo_url)
        moved = parse_repo_url(state.moved_to)
        if moved is not None and not moved.same_repo(listed):
            findings.append(
                _finding(
                    FindingKind.REPOSITORY_MOVED,
                    key={"moved_to": moved.url.lower()},
                    evidence={**evidence, "moved_to": moved.url},
                    words=(f"{listing.repo_url or 'the repository'} now lives at {moved.url}",),
                    suggestion={"action": "update_url", "field": "repo_url", "value": moved.url},
                )
            )
    return findings


def _link_findings(link: LinkState, t: Thresholds) -> list[FindingDecision]:
    evidence = {
        "url": link.url,
        "field": link.field,
        "ok": link.ok,
        "status_code": link.status_code,
        "error": link.error,
        "consecutive_failures": link.consecutive_failures,
        "failing_since": link.first_failure_at.isoformat() if link.first_failure_at else None,
        "last_checked_at": link.last_checked_at.isoformat() if link.last_checked_at else None,
        "final_url": link.final_url,
        "permanent_redirect_to": link.permanent_redirect_to,
    }
    if link_is_broken(link, t):
        assert link.first_failure_at is not None
        return [
            _finding(
                FindingKind.LINK_BROKEN,
                subject=link.url,
                key={"url": link.url, "since": link.first_failure_at.isoformat()},
                evidence=evidence,
                words=(
                    f"{link.url} failed {link.consecutive_failures} checks in a row "
                    f"since {_minute(link.first_failure_at)}",
                    f"last error: {link.error or 'unknown'}",
                ),
            )
        ]
    target = link.permanent_redirect_to
    if link.ok and target and _comparable_url(target) != _comparable_url(link.url):
        return [
            _finding(
                FindingKind.LINK_REDIRECTED,
                subject=link.url,
                key={"url": link.url, "to": target},
                evidence=evidence,
                words=(f"{link.url} permanently redirects to {target}",),
                suggestion={"action": "update_url", "field": link.field, "value": target},
            )
        ]
    return []


def decide_findings(
    *,
    listing: Listing,
    repo: RepoState | None = None,
    links: Sequence[LinkState] = (),
    now: datetime,
    thresholds: Thresholds | None = None,
) -> list[FindingDecision]:
    """Every finding that holds now. The service opens the new ones, refreshes
    ``last_seen`` on the rest, and resolves open findings missing from this list."""
    t = thresholds or Thresholds.from_settings()
    findings: list[FindingDecision] = []
    if repo is not None:
        findings.extend(_repo_findings(listing, repo, now, t))
    for link in links:
        findings.extend(_link_findings(link, t))
    return findings
