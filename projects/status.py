"""Status services: observe repositories and links, decide health, keep findings current.

Every outside answer goes through ``projects.sources`` and every decision through the
pure ``projects.health``; this module only maps between them and the models, one
transaction per repository or entry, so that a crash half-way leaves each row either
before or after its check, never in between.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from projects import health as rules
from projects.disclosure import evidence_split
from projects.facts import project_facts_deferred
from projects.landscape_yml import normalize_repo_url
from projects.logos import LogoError, logo_kind
from projects.models import (
    Finding,
    LinkStatus,
    Maturity,
    Project,
    RepositoryStatus,
    Snapshot,
)
from projects.sources import RepoRef, parse_repo_url
from projects.sources.base import RateLimited, RepoObservation, SourceError
from projects.sources.github import GitHubREST, GraphQLBatch, make_github_client
from projects.sources.gitlab import GitLabClient
from projects.sources.http import fetch, make_client
from projects.sources.links import LinkChecker, network_canary
from projects.sources.pypi import PyPIClient, package_name_from_urls
from projects.validators import validate_public_url

logger = logging.getLogger(__name__)

REPOSITORY_FINDING_KINDS = (
    Finding.Kind.LISTED_ARCHIVED_BUT_ACTIVE,
    Finding.Kind.ARCHIVED_UPSTREAM,
    Finding.Kind.REPOSITORY_MOVED,
    Finding.Kind.REPOSITORY_MISSING,
    Finding.Kind.INACTIVE,
)
LINK_FINDING_KINDS = (Finding.Kind.LINK_BROKEN, Finding.Kind.LINK_REDIRECTED)
# A check that got no answer is tried again at the next beat rather than after the full
# refresh interval; the answer may come in minutes.
RETRY_AFTER_FAILURE = timedelta(minutes=15)
AVATAR_MAX_BYTES = 512 * 1024
# A repository deferred for a held lock is tried again this long after the lock's expiry,
# so that the retry never finds it still held (Redis expires keys to the millisecond).
LOCK_RETRY_MARGIN_SECONDS = 2


@dataclass
class RefreshReport:
    checked: int = 0
    failures: int = 0
    health_changes: int = 0
    new_findings: int = 0
    requests: int = 0
    rate_limit_waits: int = 0
    # Checked, but the latest release's own request failed: kept as it was, not "none".
    releases_unknown: int = 0
    rate_limited_until: datetime | None = None
    pending_ids: list[int] = field(default_factory=list)
    # Repositories whose lock another worker holds (or a killed worker held): to be tried
    # again in ``deferred_for`` seconds, when every one of those locks has expired, unless
    # checked since ``deferred_since`` (the holder did it after taking its lock).
    deferred_ids: list[int] = field(default_factory=list)
    deferred_for: float = 0.0
    deferred_since: datetime | None = None

    def merge(self, other: RefreshReport) -> None:
        for name in (
            "checked",
            "failures",
            "health_changes",
            "new_findings",
            "requests",
            "rate_limit_waits",
            "releases_unknown",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.pending_ids.extend(other.pending_ids)
        self.deferred_ids.extend(other.deferred_ids)
        self.deferred_for = max(self.deferred_for, other.deferred_for)
        if other.deferred_since:
            self.deferred_since = min(filter(None, [self.deferred_since, other.deferred_since]))
        if other.rate_limited_until:
            self.rate_limited_until = max(
                filter(None, [self.rate_limited_until, other.rate_limited_until])
            )


@dataclass
class LinkReport:
    checked: int = 0
    broken: int = 0
    new_findings: int = 0
    offline: bool = False


# --- Which repositories exist and which are due ---


def repositories_sync(*, projects: Iterable[Project] | None = None) -> int:
    """Give every published entry with a repository URL its RepositoryStatus row.

    When an entry's URL changed (a move applied, an edit), its row follows it and
    forgets what it knew of the old repository.
    """
    created = 0
    candidates = list(
        projects
        if projects is not None
        else Project.objects.published().exclude(repo_url=None).only("id", "repo_url")
    )
    # One query for the existing rows: beat runs this over every entry each 15 minutes.
    rows = {
        row.project_id: row
        for row in RepositoryStatus.objects.filter(
            is_primary=True, project_id__in=[p.pk for p in candidates]
        )
    }
    with project_facts_deferred():  # the entries' copied facts once, at the end
        for project in candidates:
            created += _repository_follow(project, rows.get(project.pk))
    return created


def _repository_follow(project: Project, row: RepositoryStatus | None) -> int:
    """Make this entry's primary RepositoryStatus match its repository URL; 1 if a row
    was created where there was none."""
    ref = parse_repo_url(project.repo_url or "")
    if (
        row
        and ref
        and (row.host, row.owner.lower(), row.name.lower())
        == (
            ref.host,
            ref.owner.lower(),
            ref.name.lower(),
        )
    ):
        return 0
    try:
        with transaction.atomic():
            if row is not None:
                row.delete()
            if ref is not None:
                RepositoryStatus.objects.create(
                    project=project,
                    is_primary=True,
                    url=ref.url,
                    host=ref.host,
                    owner=ref.owner,
                    name=ref.name,
                )
                return int(row is None)
    except IntegrityError:
        # Two entries naming one repository: the first keeps the observations.
        logger.warning("repository %s is listed by more than one entry", ref.full_name)
    return 0


def repositories_due(*, now: datetime | None = None, limit: int | None = None) -> list[int]:
    """Ids of the repositories to refresh now, oldest check first (never-checked first)."""
    now = now or timezone.now()
    interval = timedelta(hours=settings.REFRESH_INTERVAL_HOURS)
    due = RepositoryStatus.objects.filter(
        Q(checked_at__isnull=True)
        | Q(checked_at__lt=now - interval)
        | Q(consecutive_failures__gt=0, checked_at__lt=now - RETRY_AFTER_FAILURE),
        project__publication="published",
    ).order_by("checked_at", "id")
    ids = due.values_list("id", flat=True)
    return list(ids[:limit] if limit else ids)


# --- Locks ---


def _lock_key(repository_id: int) -> str:
    return f"lock:repository:{repository_id}"


def _acquire(ids: Sequence[int]) -> tuple[list[int], str]:
    """Take each repository's lock; ``cache.add`` is atomic on Redis. Expires by itself."""
    token, ttl = uuid.uuid4().hex, settings.REFRESH_LOCK_TTL_SECONDS
    return [i for i in ids if cache.add(_lock_key(i), token, ttl)], token


def _locks_left(ids: Sequence[int]) -> dict[int, float]:
    """Seconds each repository's lock has left to live, read from Redis. The full time to
    live where the cache cannot say (not Redis, Redis away, a lock without expiry): waiting
    too long delays a check, waiting too little would skip it again."""
    ttl = float(settings.REFRESH_LOCK_TTL_SECONDS)
    read = getattr(cache, "ttl_many", None)
    left = read([_lock_key(i) for i in ids]) if read else {}
    seconds = {i: left.get(_lock_key(i)) for i in ids}
    return {i: ttl if s is None else s for i, s in seconds.items()}


def _release(ids: Sequence[int], token: str) -> None:
    for i in ids:
        # Only our own lock: after a TTL expiry another worker may hold it now.
        if cache.get(_lock_key(i)) == token:
            cache.delete(_lock_key(i))


# --- Mapping rows <-> the rules' state ---


def _repo_state(row: RepositoryStatus) -> rules.RepoState:
    return rules.RepoState(
        host=row.host,
        url=row.url,
        last_checked_at=row.checked_at,
        last_success_at=row.last_success_at,
        last_found_at=row.last_found_at,
        found=row.found,
        archived=bool(row.archived),
        pushed_at=row.pushed_at,
        last_commit_at=row.last_commit_at,
        last_release_at=row.last_release_at,
        release_checked_at=row.release_checked_at,
        pypi_release_at=row.pypi_release_at,
        moved_to=row.moved_to or None,
        not_found_count=row.not_found_count,
        first_not_found_at=row.first_not_found_at,
        last_not_found_at=row.last_not_found_at,
        consecutive_failures=row.consecutive_failures,
        last_error=row.last_error or None,
    )


def _store_repo_state(row: RepositoryStatus, state: rules.RepoState) -> None:
    row.checked_at = state.last_checked_at
    row.last_success_at = state.last_success_at
    row.last_found_at = state.last_found_at
    row.found = state.found
    row.archived = state.archived if state.found else row.archived
    row.pushed_at = state.pushed_at
    row.last_commit_at = state.last_commit_at
    row.last_release_at = state.last_release_at
    row.release_checked_at = state.release_checked_at
    row.pypi_release_at = state.pypi_release_at
    row.moved_to = state.moved_to or ""
    row.not_found_count = state.not_found_count
    row.first_not_found_at = state.first_not_found_at
    row.last_not_found_at = state.last_not_found_at
    row.consecutive_failures = state.consecutive_failures
    row.last_error = (state.last_error or "")[:2000]


def _link_state(row: LinkStatus) -> rules.LinkState:
    return rules.LinkState(
        url=row.url,
        field=row.kind,
        last_checked_at=row.checked_at,
        last_ok_at=row.last_ok_at,
        ok=row.ok,
        status_code=row.status_code,
        error=row.error or None,
        consecutive_failures=row.consecutive_failures,
        first_failure_at=row.first_failure_at,
        last_failure_at=row.last_failure_at,
        permanent_redirect_to=row.permanent_redirect_to or None,
        final_url=row.final_url or None,
    )


def _store_link_state(row: LinkStatus, state: rules.LinkState) -> None:
    row.checked_at = state.last_checked_at
    row.last_ok_at = state.last_ok_at
    row.ok = state.ok
    row.status_code = state.status_code
    row.error = (state.error or "")[:2000]
    row.consecutive_failures = state.consecutive_failures
    row.first_failure_at = state.first_failure_at
    row.last_failure_at = state.last_failure_at
    row.permanent_redirect_to = (state.permanent_redirect_to or "")[:500]
    row.final_url = (state.final_url or "")[:500]


# --- Findings ---


def findings_sync(
    *,
    project: Project,
    decisions: Sequence[rules.FindingDecision],
    kinds: Sequence[str],
    subjects: Sequence[str] | None = None,
    now: datetime,
) -> int:
    """Open new findings, refresh the open ones, resolve those that no longer hold.

    Only findings of ``kinds`` (and, for links, of the checked ``subjects``) are in
    scope. A dismissed finding stays dismissed while its fingerprint is unchanged.
    Returns how many findings were opened.
    """
    opened = 0
    seen: set[tuple[str, str]] = set()
    for decision in decisions:
        kind, subject = str(decision.kind), decision.subject
        seen.add((kind, subject))
        evidence, curator_evidence = evidence_split(
            kind, _jsonable({**decision.evidence, "words": list(decision.words)})
        )
        current = Finding.objects.filter(
            project=project, kind=kind, subject=subject, state=Finding.State.OPEN
        ).first()
        if current is not None:
            current.last_seen = now
            current.evidence = evidence
            current.curator_evidence = curator_evidence
            current.evidence_digest = decision.fingerprint
            current.suggestion = decision.suggestion or {}
            current.save(
                update_fields=[
                    "last_seen",
                    "evidence",
                    "curator_evidence",
                    "evidence_digest",
                    "suggestion",
                ]
            )
            continue
        if Finding.objects.filter(
            project=project,
            kind=kind,
            subject=subject,
            state=Finding.State.DISMISSED,
            evidence_digest=decision.fingerprint,
        ).exists():
            continue
        Finding.objects.create(
            project=project,
            kind=kind,
            subject=subject,
            evidence=evidence,
            curator_evidence=curator_evidence,
            evidence_digest=decision.fingerprint,
            suggestion=decision.suggestion or {},
            first_seen=now,
            last_seen=now,
        )
        opened += 1
        logger.info("finding opened: %s on %s (%s)", kind, project.slug, subject)

    stale = Finding.objects.filter(project=project, kind__in=kinds, state=Finding.State.OPEN)
    if subjects is not None:
        stale = stale.filter(subject__in=subjects)
    for finding in stale:
        if (finding.kind, finding.subject) not in seen:
            finding.state = Finding.State.RESOLVED
            finding.resolved_at = now
            finding.resolution_note = "no longer observed by the status checker"
            finding.save(update_fields=["state", "resolved_at", "resolution_note"])
    return opened


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


# --- Repository refresh ---


@dataclass
class _Outcome:
    row: RepositoryStatus
    observation: object | None = None  # RepoObservation
    error: str | None = None


class _PhaseStopped(Exception):
    """A rate limit: the rest of this phase waits for the reset."""


def _observe_each(
    rows: Sequence[RepositoryStatus], observe: Callable, report: RefreshReport
) -> list[_Outcome]:
    """One request (or two) per repository, until the quota runs out."""
    outcomes: list[_Outcome] = []
    for row in rows:
        try:
            outcomes.append(_Outcome(row, observation=observe(row)))
        except RateLimited as exc:
            _note_rate_limit(report, exc)
            if isinstance(exc.partial, RepoObservation):  # the repository answered first
                outcomes.append(_Outcome(row, observation=exc.partial))
            raise _PhaseStopped(outcomes) from exc
        except SourceError as exc:
            outcomes.append(_Outcome(row, error=str(exc) or exc.__class__.__name__))
    return outcomes


def _ref(row: RepositoryStatus) -> RepoRef:
    return RepoRef(row.host, row.owner, row.name)


def _observe_github(rows: list[RepositoryStatus], report: RefreshReport) -> list[_Outcome]:
    """GraphQL, 50 repositories a query, with a token; REST otherwise. A failed query is
    retried and halved by the GraphQL client; REST asks only for what GraphQL says it
    cannot tell (a node-level error, a query refused outright)."""
    client = make_github_client()
    rest = client if isinstance(client, GitHubREST) else None
    outcomes: list[_Outcome] = []

    def rest_observe(row: RepositoryStatus):
        return rest.observe(_ref(row), etag=row.etag or None)

    try:
        if rest is not None:
            return _observe_each(rows, rest_observe, report)
        by_ref = {_ref(row): row for row in rows}
        try:
            batch = client.fetch_all(list(by_ref))
        except RateLimited as exc:
            _note_rate_limit(report, exc)
            batch = exc.partial if isinstance(exc.partial, GraphQLBatch) else GraphQLBatch()
            # The rest waits for the reset, REST fallbacks included (pending, no failure).
            retry = []
        else:
            retry = [by_ref[ref] for ref in batch.errors]
        outcomes += [_Outcome(by_ref[ref], observation=o) for ref, o in batch.observations.items()]
        outcomes += [
            _Outcome(by_ref[ref], error=str(error) or error.__class__.__name__)
            for ref, error in batch.unanswered.items()
        ]
        if retry:
            rest = GitHubREST()
            outcomes += _observe_each(retry, rest_observe, report)
    except _PhaseStopped as stopped:
        outcomes += stopped.args[0]
    finally:
        report.requests += client.requests_made
        client.close()
        if rest is not None and rest is not client:
            report.requests += rest.requests_made
            rest.close()
    return outcomes


def _observe_gitlab(rows: list[RepositoryStatus], report: RefreshReport) -> list[_Outcome]:
    with GitLabClient() as client:
        try:
            return _observe_each(rows, lambda row: client.get_project(_ref(row)), report)
        except _PhaseStopped as stopped:
            return stopped.args[0]
        finally:
            report.requests += client.requests_made


def _note_rate_limit(report: RefreshReport, exc: RateLimited) -> None:
    report.rate_limit_waits += 1
    reset = exc.reset_at or timezone.now() + timedelta(minutes=15)
    report.rate_limited_until = max(filter(None, [report.rate_limited_until, reset]))
    logger.warning("rate limited until %s: this phase stops and resumes then", reset.isoformat())


def _pypi_releases(rows: list[RepositoryStatus], report: RefreshReport) -> dict[int, object]:
    """Latest PyPI upload per row, for entries that name a PyPI package."""
    result: dict[int, object] = {}
    wanted = {}
    for row in rows:
        project = row.project
        extra = (project.landscape_extra or {}).get("extra") or {}
        name = package_name_from_urls(
            [
                extra.get("package_manager_url"),
                project.homepage_url,
                project.documentation_url,
                *[link.get("url") for link in project.other_links or [] if isinstance(link, dict)],
            ]
        )
        if name:
            wanted[row.pk] = name
    if not wanted:
        return result
    with PyPIClient() as client:
        try:
            for row_id, name in wanted.items():
                try:
                    result[row_id] = client.latest_release(name)
                except RateLimited as exc:
                    _note_rate_limit(report, exc)
                    break
                except SourceError:
                    continue  # no answer: keep what we knew
        finally:
            report.requests += client.requests_made
    return result


def repositories_refresh(
    *,
    ids: Sequence[int],
    unless_checked_since: datetime | None = None,
    now: Callable[[], datetime] = timezone.now,
) -> RefreshReport:
    """Check these repositories once. Rate-limited ones are left untouched and returned in
    ``pending_ids`` with ``rate_limited_until``; a rate limit is never a project's failure.
    Those whose lock is held elsewhere are returned in ``deferred_ids``, never dropped.
    With ``unless_checked_since`` (a deferred batch), a repository checked since then is
    done already and left alone."""
    report = RefreshReport()
    ids = list(ids)
    if unless_checked_since is not None:
        done = RepositoryStatus.objects.filter(pk__in=ids, checked_at__gte=unless_checked_since)
        done_ids = set(done.values_list("pk", flat=True))
        ids = [i for i in ids if i not in done_ids]
    locked, token = _acquire(ids)
    taken = set(locked)
    _defer_held(report, [i for i in ids if i not in taken])
    try:
        rows = list(RepositoryStatus.objects.filter(pk__in=locked).select_related("project"))
        github = [r for r in rows if r.host == "github.com"]
        gitlab = [r for r in rows if r.host == "gitlab.com"]
        outcomes = []
        if github:
            outcomes += _observe_github(github, report)
        if gitlab:
            outcomes += _observe_gitlab(gitlab, report)
        releases = _pypi_releases([o.row for o in outcomes], report)
        # The entries' copied facts once for the batch, not at each status and finding saved.
        with project_facts_deferred():
            for outcome in outcomes:
                _record(outcome, releases.get(outcome.row.pk, _UNSET), now(), report)
        answered = {o.row.pk for o in outcomes}
        report.pending_ids = [r.pk for r in rows if r.pk not in answered]
    finally:
        _release(locked, token)
    return report


def _defer_held(report: RefreshReport, held: list[int]) -> None:
    """Note the repositories whose lock is held elsewhere, to be tried again once the
    last of those locks has expired: a live holder checks them meanwhile (and the retry
    finds them done), a killed one's locks run out and the retry checks them."""
    if not held:
        return
    left = _locks_left(held)
    ttl = settings.REFRESH_LOCK_TTL_SECONDS
    report.deferred_ids = held
    report.deferred_for = max(left.values()) + LOCK_RETRY_MARGIN_SECONDS
    # When the earliest of these locks was taken: what its holder checked after that
    # needs no second check.
    report.deferred_since = timezone.now() - timedelta(seconds=ttl - min(left.values()))


_UNSET = object()


def _record(outcome: _Outcome, pypi_release, now: datetime, report: RefreshReport) -> None:
    with transaction.atomic():
        row = (
            RepositoryStatus.objects.select_for_update()
            .select_related("project")
            .get(pk=outcome.row.pk)
        )
        project = row.project
        state = _repo_state(row)
        observation = outcome.observation
        if observation is None:
            state = rules.record_failure(state, now=now, error=outcome.error or "no answer")
            report.failures += 1
        else:
            state = rules.record_observation(state, observation, now=now)
            if pypi_release is not _UNSET:
                state = rules.record_pypi_release(state, pypi_release)
            if observation.found and not observation.not_modified:
                row.stars = observation.stars
                row.forks = observation.forks
                row.open_issues = observation.open_issues
                row.license = (observation.license or "")[:100]
                row.description = observation.description or ""
                row.avatar_url = (observation.avatar_url or "")[:500]
                if not observation.release_known:
                    # A 304 next round would skip the release request: ask for it all again.
                    row.etag = ""
                    report.releases_unknown += 1
                elif observation.etag:
                    row.etag = observation.etag[:200]
            report.checked += 1
        _store_repo_state(row, state)

        decision = rules.decide_health(state, now=now)
        if row.health != decision.health:
            report.health_changes += 1
            logger.info("health of %s: %s -> %s", project.slug, row.health, decision.health)
        row.health = str(decision.health)
        # The page shows these words; the error text itself stays in last_error (admin).
        row.health_evidence, _ = evidence_split(
            "repository", _jsonable({**decision.evidence, "words": list(decision.words)})
        )
        row.save()  # the entry's health comes with its other copied facts (projects.facts)
        if observation is not None:
            Snapshot.objects.update_or_create(
                repository=row,
                day=now.date(),
                defaults={
                    "stars": row.stars,
                    "forks": row.forks,
                    "pushed_at": row.pushed_at,
                    "health": row.health,
                },
            )
        decisions = rules.decide_findings(
            listing=rules.Listing(maturity=project.maturity or None, repo_url=project.repo_url),
            repo=state,
            now=now,
        )
        report.new_findings += findings_sync(
            project=project, decisions=decisions, kinds=REPOSITORY_FINDING_KINDS, now=now
        )
    if observation is not None and row.avatar_url and not project.logo:
        project_logo_from_avatar(project=project, avatar_url=row.avatar_url)


# --- Logo fallback ---


def project_logo_from_avatar(*, project: Project, avatar_url: str) -> bool:
    """Store the repository owner's avatar as the logo of an entry that has none."""
    client = make_client()
    try:
        fetched = fetch(client, "GET", avatar_url, max_bytes=AVATAR_MAX_BYTES)
    except SourceError as exc:
        logger.info("avatar of %s not fetched: %s", project.slug, exc)
        return False
    finally:
        client.close()
    if fetched.status_code != 200 or fetched.truncated:
        return False
    try:
        kind = logo_kind(fetched.content)
    except LogoError as exc:
        logger.info("avatar of %s refused: %s", project.slug, exc)
        return False
    extension = {"jpeg": "jpg"}.get(kind, kind)
    name = default_storage.save(
        f"logos/avatar-{project.slug}.{extension}", ContentFile(fetched.content)
    )
    updated = Project.objects.filter(pk=project.pk, logo="").update(logo=name)
    if not updated:  # someone set a logo meanwhile: theirs wins
        default_storage.delete(name)
    return bool(updated)


# --- Links ---


def project_links(project: Project) -> list[tuple[str, str]]:
    """(kind, url) of every link the workers check for an entry."""
    links = [(LinkStatus.Kind.HOMEPAGE, project.homepage_url)]
    if project.documentation_url:
        links.append((LinkStatus.Kind.DOCUMENTATION, project.documentation_url))
    if project.repo_url and parse_repo_url(project.repo_url) is None:
        # Not a repository (an organization page, a website): check it as a link.
        links.append((LinkStatus.Kind.REPOSITORY, project.repo_url))
    seen: set[str] = set()
    unique = []
    for kind, url in links:
        if url and url not in seen:
            seen.add(url)
            unique.append((str(kind), url))
    return unique


def links_check(
    *, project_ids: Sequence[int] | None = None, now: Callable[[], datetime] = timezone.now
) -> LinkReport:
    """Check the entries' links. When nothing at all answers, we are the ones offline:
    nothing is recorded and no link is flagged."""
    report = LinkReport()
    projects = Project.objects.published()
    if project_ids is not None:
        projects = projects.filter(pk__in=project_ids)
    with LinkChecker() as checker:
        if not network_canary(checker=checker):
            report.offline = True
            logger.warning("link check skipped: no reference site answers (we are offline)")
            return report
        for project in projects.only(
            "id", "slug", "homepage_url", "documentation_url", "repo_url", "maturity"
        ):
            urls = project_links(project)
            results = [(kind, url, checker.check(url)) for kind, url in urls]
            _record_links(project, results, now(), report)
    return report


def _record_links(project: Project, results, now: datetime, report: LinkReport) -> None:
    # The entry's copied findings flag once, in the same transaction as its findings.
    with transaction.atomic(), project_facts_deferred():
        LinkStatus.objects.filter(project=project).exclude(
            url__in=[url for _, url, _ in results]
        ).delete()
        states = []
        for kind, url, result in results:
            row, _ = LinkStatus.objects.select_for_update().get_or_create(
                project=project, url=url, defaults={"kind": kind}
            )
            row.kind = kind
            state = rules.record_link_result(_link_state(row), result, now=now, field_name=kind)
            _store_link_state(row, state)
            row.save()
            states.append(state)
            report.checked += 1
            if rules.link_is_broken(state, rules.Thresholds.from_settings()):
                report.broken += 1
        decisions = rules.decide_findings(
            listing=rules.Listing(maturity=project.maturity or None, repo_url=project.repo_url),
            links=states,
            now=now,
        )
        report.new_findings += findings_sync(
            project=project,
            decisions=decisions,
            kinds=LINK_FINDING_KINDS,
            subjects=[url for _, url, _ in results],
            now=now,
        )


# --- Resolving findings (staff) ---

_URL_FIELDS = {
    "homepage": "homepage_url",
    "homepage_url": "homepage_url",
    "documentation": "documentation_url",
    "documentation_url": "documentation_url",
    "repository": "repo_url",
    "repo_url": "repo_url",
}


class FindingNotApplicable(ValueError):
    pass


def finding_apply(*, finding: Finding, user, note: str = "") -> Finding:
    """Carry out the finding's suggestion on the listing, then resolve it."""
    with transaction.atomic():
        finding = Finding.objects.select_for_update().select_related("project").get(pk=finding.pk)
        if finding.state != Finding.State.OPEN:
            raise FindingNotApplicable(f"the finding is {finding.state}, not open")
        project = finding.project
        suggestion = finding.suggestion or {}
        action = suggestion.get("action")
        if action == "unarchive":
            project.maturity = Maturity.NONE
            done = "maturity changed from archived to none"
        elif action == "mark_archived":
            project.maturity = Maturity.ARCHIVED
            done = "maturity set to archived"
        elif action == "update_url" and suggestion.get("field") in _URL_FIELDS:
            field_name = _URL_FIELDS[suggestion["field"]]
            value = suggestion.get("value") or ""
            if field_name == "repo_url":
                value = normalize_repo_url(value)
            try:
                validate_public_url(value)
            except ValidationError as exc:
                # A redirect may lead anywhere; the listing takes only what a person could save.
                raise FindingNotApplicable(
                    f"the suggested {field_name} {value!r} is refused: {exc.messages[0]}"
                ) from exc
            old = getattr(project, field_name)
            setattr(project, field_name, value)
            done = f"{field_name} changed from {old} to {value}"
        else:
            raise FindingNotApplicable(
                f"a {finding.get_kind_display()} finding has no change to apply; dismiss or "
                "resolve it instead"
            )
        project._history_user = user if getattr(user, "pk", None) else None
        project._change_reason = f"applied finding: {finding.kind}"
        project.save()
        if action == "update_url" and field_name == "repo_url":
            repositories_sync(projects=[project])
        _close(finding, Finding.State.RESOLVED, user, f"applied: {done}. {note}".strip())
    return finding


def finding_dismiss(*, finding: Finding, user, reason: str) -> Finding:
    if not reason.strip():
        raise FindingNotApplicable("a dismissal needs a reason")
    with transaction.atomic():
        finding = Finding.objects.select_for_update().get(pk=finding.pk)
        if finding.state != Finding.State.OPEN:
            raise FindingNotApplicable(f"the finding is {finding.state}, not open")
        _close(finding, Finding.State.DISMISSED, user, reason.strip())
    return finding


def _close(finding: Finding, state: str, user, note: str) -> None:
    finding.state = state
    finding.resolved_by = user if getattr(user, "pk", None) else None
    finding.resolved_at = timezone.now()
    finding.resolution_note = note
    finding.save()
    logger.info(
        "finding %s (%s on %s) %s by %s: %s",
        finding.pk,
        finding.kind,
        finding.project_id,
        state,
        user,
        note,
    )


# --- Reporting ---


def status_report_rows() -> list[dict]:
    """Every published entry: slug, health, evidence in words and open findings."""
    rows = []
    primary = {r.project_id: r for r in RepositoryStatus.objects.filter(is_primary=True)}
    open_findings: dict[int, list[Finding]] = {}
    for finding in Finding.objects.filter(state=Finding.State.OPEN).order_by("first_seen"):
        open_findings.setdefault(finding.project_id, []).append(finding)
    for project in Project.objects.published().order_by("slug"):
        repo = primary.get(project.pk)
        rows.append(
            {
                "slug": project.slug,
                "name": project.name,
                "maturity": project.maturity or None,
                "health": project.health,
                "evidence": (repo.health_evidence or {}).get("words", []) if repo else [],
                "checked_at": repo.checked_at.isoformat() if repo and repo.checked_at else None,
                "findings": [
                    {
                        "kind": f.kind,
                        "subject": f.subject,
                        "words": (f.evidence or {}).get("words", []),
                        "suggestion": f.suggestion or None,
                        "first_seen": f.first_seen.isoformat(),
                    }
                    for f in open_findings.get(project.pk, [])
                ],
            }
        )
    return rows
