"""Maintainer self-service: claims, changes that wait for review, disputes, digests.

Each public function is one transaction; mail goes out only after it commits.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from landscape.site import site_url
from projects.models import (
    Category,
    ChangeRequest,
    Claim,
    Dispute,
    Finding,
    Maintainer,
    Project,
    Publication,
    Review,
)
from projects.permissions import (
    MAINTAINER_EDITABLE_FIELDS,
    MAINTAINERS_GROUP,
    MODERATED_FIELDS,
    can_edit,
    is_moderator,
)

logger = logging.getLogger(__name__)

DIGEST_INTERVAL = timedelta(days=1)


class ModerationError(ValueError):
    """A request that cannot be carried out; the message says why."""


def _mail_after_commit(*, to: str | None, subject: str, body: str) -> None:
    if not to:
        return
    transaction.on_commit(
        lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to], fail_silently=False)
    )


# --- The Maintainers group ---------------------------------------------------------------


def maintainers_group() -> Group:
    """The admin group maintainers join: they may view and change entries (their own only,
    which the admin enforces) and view their submissions."""
    group, _ = Group.objects.get_or_create(name=MAINTAINERS_GROUP)
    wanted = Permission.objects.filter(
        content_type__app_label="projects",
        codename__in=["view_project", "change_project", "view_changerequest", "view_finding"],
    )
    group.permissions.add(*wanted)
    return group


def _make_maintainer(*, user, project: Project, verified: bool) -> Maintainer:
    maintainer, _ = Maintainer.objects.get_or_create(
        user=user, project=project, defaults={"verified": verified}
    )
    if verified and not maintainer.verified:
        maintainer.verified = True
        maintainer.save(update_fields=["verified"])
    # The admin is where maintainers edit; it needs is_staff, the group limits the rest.
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    user.groups.add(maintainers_group())
    return maintainer


# --- Claims -----------------------------------------------------------------------------------


def claim_create(*, user, project: Project, statement: str) -> Claim:
    statement = (statement or "").strip()
    if not user.is_authenticated:
        raise ModerationError("sign in to claim an entry")
    if len(statement) < 10:
        raise ModerationError("say in a sentence what your role in the project is")
    if project.maintainers.filter(user=user).exists():
        raise ModerationError(f"you already maintain {project.name}")
    with transaction.atomic():
        if Claim.objects.filter(user=user, project=project, state=Review.PENDING).exists():
            raise ModerationError(f"your claim on {project.name} is already waiting for review")
        claim = Claim.objects.create(user=user, project=project, statement=statement[:2000])
    # The repository may vouch for the user at once (a list of GitHub logins in the repo).
    from ops.outbox import publish_on_commit
    from projects.tasks import claim_verify

    publish_on_commit(claim_verify, args=[claim.pk])
    return claim


def claim_approve(*, claim: Claim, reviewer, by_repository: bool = False) -> Claim:
    with transaction.atomic():
        claim = Claim.objects.select_for_update().select_related("project", "user").get(pk=claim.pk)
        if claim.state != Review.PENDING:
            raise ModerationError(f"the claim is already {claim.state}")
        claim.state = Review.APPROVED
        claim.reviewed_by = reviewer if getattr(reviewer, "pk", None) else None
        claim.verified_by_repository = by_repository
        claim.decided_at = timezone.now()
        claim.save()
        _make_maintainer(user=claim.user, project=claim.project, verified=True)
        _mail_after_commit(
            to=claim.user.email,
            subject=f"You now maintain {claim.project.name}",
            body=(
                f"Your claim on {claim.project.name} was approved"
                f"{' (your GitHub login is listed in the repository)' if by_repository else ''}.\n"
                "Edit the listing: "
                f"{site_url(reverse('admin:projects_project_change', args=[claim.project.pk]))}\n"
            ),
        )
    logger.info("claim %s approved (%s)", claim.pk, "repository" if by_repository else reviewer)
    return claim


def claim_reject(*, claim: Claim, reviewer, reason: str) -> Claim:
    if not reason.strip():
        raise ModerationError("a rejection needs a reason")
    with transaction.atomic():
        claim = Claim.objects.select_for_update().select_related("project", "user").get(pk=claim.pk)
        if claim.state != Review.PENDING:
            raise ModerationError(f"the claim is already {claim.state}")
        claim.state = Review.REJECTED
        claim.reviewed_by = reviewer
        claim.reason = reason.strip()
        claim.decided_at = timezone.now()
        claim.save()
        _mail_after_commit(
            to=claim.user.email,
            subject=f"Your claim on {claim.project.name} was not approved",
            body=f"Reason: {claim.reason}\n",
        )
    return claim


def github_login_of(user) -> str | None:
    """The user's GitHub login, when they signed in with GitHub."""
    account = user.socialaccount_set.filter(provider="github").first()
    if account is None:
        return None
    return (account.extra_data or {}).get("login") or None


MAINTAINERS_FILE = ".github/landscape-maintainers"


def claim_verify_by_repository(*, claim: Claim, client=None) -> bool:
    """Approve a claim when the entry's repository lists the user's GitHub login."""
    from projects.sources import parse_repo_url
    from projects.sources.base import SourceError
    from projects.sources.github import GitHubREST

    claim = Claim.objects.select_related("project", "user").get(pk=claim.pk)
    if claim.state != Review.PENDING:
        return False
    login = github_login_of(claim.user)
    ref = parse_repo_url(claim.project.repo_url or "")
    if not login or ref is None or ref.host != "github.com":
        return False
    owns_client = client is None
    client = client or GitHubREST()
    try:
        text = client.fetch_file(ref, MAINTAINERS_FILE)
    except SourceError as exc:
        logger.info("claim %s: %s not read: %s", claim.pk, MAINTAINERS_FILE, exc)
        return False
    finally:
        if owns_client:
            client.close()
    listed = {
        line.split("#", 1)[0].strip().lstrip("@").lower() for line in (text or "").splitlines()
    }
    if login.lower() not in listed:
        return False
    claim_approve(claim=claim, reviewer=None, by_repository=True)
    return True


# --- Changes and submissions ----------------------------------------------------------------


def _field_value(project: Project, name: str) -> Any:
    if name == "category":
        return project.category.slug if project.category_id else None
    if name == "alternatives":
        return sorted(project.alternatives.values_list("slug", flat=True))
    if name == "logo":
        return project.logo.name or ""
    return getattr(project, name)


def project_change(
    *, project: Project, user, changes: dict[str, Any]
) -> tuple[list[str], ChangeRequest | None]:
    """Apply a maintainer's (or moderator's) change to an entry.

    Moderators' changes apply at once. A maintainer's editable fields apply at once;
    the moderated ones (name, repository, category) wait in a ChangeRequest; anything
    else is refused. Returns (fields applied, the pending request or None).
    """
    if not can_edit(user, project):
        raise PermissionError(f"you do not maintain {project.name}")
    moderator = is_moderator(user)
    unknown = sorted(
        k
        for k in changes
        if not moderator and k not in (*MAINTAINER_EDITABLE_FIELDS, *MODERATED_FIELDS)
    )
    if unknown:
        raise ModerationError(f"maintainers cannot change: {', '.join(unknown)}")
    direct = {k: v for k, v in changes.items() if moderator or k in MAINTAINER_EDITABLE_FIELDS}
    held = {k: v for k, v in changes.items() if k not in direct}
    held = {k: v for k, v in held.items() if v != _field_value(project, k)}
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project.pk)
        applied = _apply(project, direct, user=user)
        request = change_request_create(project=project, user=user, changes=held) if held else None
    return applied, request


def change_request_create(*, project: Project, user, changes: dict[str, Any]) -> ChangeRequest:
    """Hold a change for review; the entry keeps its live values until staff approve."""
    return ChangeRequest.objects.create(
        project=project,
        kind=ChangeRequest.Kind.CHANGE,
        changes={k: _jsonable(v) for k, v in changes.items()},
        previous={k: _jsonable(_field_value(project, k)) for k in changes},
        submitted_by=user,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, Category):
        return value.slug
    if isinstance(value, Project):
        return value.slug
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _apply(project: Project, changes: dict[str, Any], *, user) -> list[str]:
    applied = []
    alternatives = None
    for name, value in changes.items():
        if name == "alternatives":
            alternatives = value
            continue
        if name == "category":
            value = (
                value
                if isinstance(value, Category)
                else Category.objects.filter(slug=value, parent__isnull=False).first()
            )
            if value is None:
                raise ModerationError(f"no subcategory with slug {changes['category']!r}")
        if _field_value(project, name) != (value.slug if isinstance(value, Category) else value):
            setattr(project, name, value)
            applied.append(name)
    if applied:
        project._history_user = user
        project.save()
    if alternatives is not None:
        slugs = [a.slug if isinstance(a, Project) else a for a in alternatives]
        wanted = list(Project.objects.published().filter(slug__in=slugs).exclude(pk=project.pk))
        if sorted(p.slug for p in wanted) != _field_value(project, "alternatives"):
            project._history_user = user  # projects.alternatives records it on both sides
            project.alternatives.set(wanted)
            applied.append("alternatives")
    return applied


def submission_create(*, user, values: dict[str, Any]) -> Project:
    """A new entry from anyone signed in: saved as pending, public once approved."""
    if not getattr(user, "is_authenticated", False):
        raise PermissionError("sign in to submit an entry")
    values = dict(values)
    name = (values.pop("name", "") or "").strip()
    if not name:
        raise ModerationError("a new entry needs a name")
    if Project.objects.filter(name__iexact=name).exists():
        raise ModerationError(f"an entry named {name!r} already exists")
    if values.get("repo_url"):
        from django.core.exceptions import ValidationError

        from projects.services import project_repo_url_clean

        try:
            values["repo_url"] = project_repo_url_clean(repo_url=values["repo_url"])
        except ValidationError as exc:
            raise ModerationError(exc.messages[0]) from exc
    category = values.pop("category", None)
    if not isinstance(category, Category):
        category = Category.objects.filter(slug=category, parent__isnull=False).first()
    if category is None:
        raise ModerationError("a new entry needs an existing subcategory")
    from projects.services import _free_slug

    with transaction.atomic():
        project = Project(
            name=name,
            slug=_free_slug(Project, slugify(name)),
            category=category,
            publication=Publication.PENDING,
            position=Project.objects.filter(category=category).count(),
            **{k: v for k, v in values.items() if k != "alternatives"},
        )
        project._history_user = user
        project.full_clean(exclude=["logo"])
        project.save()
        ChangeRequest.objects.create(
            project=project,
            kind=ChangeRequest.Kind.NEW,
            changes={"name": name, "category": category.slug, **_jsonable_dict(values)},
            submitted_by=user,
        )
        _make_maintainer(user=user, project=project, verified=False)
    return project


def _jsonable_dict(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _jsonable(v) for k, v in values.items()}


def change_approve(*, request: ChangeRequest, reviewer) -> ChangeRequest:
    with transaction.atomic():
        request = (
            ChangeRequest.objects.select_for_update(of=("self",))
            .select_related("project", "submitted_by")
            .get(pk=request.pk)
        )
        if request.state != Review.PENDING:
            raise ModerationError(f"the request is already {request.state}")
        project = request.project
        if request.kind == ChangeRequest.Kind.NEW:
            project.publication = Publication.PUBLISHED
            project._history_user = reviewer
            project.save()
        else:
            _apply(project, request.changes, user=reviewer)
        request.state = Review.APPROVED
        request.reviewed_by = reviewer
        request.decided_at = timezone.now()
        request.save()
        _notify_submitter(request, approved=True)
    return request


def change_reject(*, request: ChangeRequest, reviewer, reason: str) -> ChangeRequest:
    if not reason.strip():
        raise ModerationError("a rejection needs a reason")
    with transaction.atomic():
        request = (
            ChangeRequest.objects.select_for_update(of=("self",))
            .select_related("project", "submitted_by")
            .get(pk=request.pk)
        )
        if request.state != Review.PENDING:
            raise ModerationError(f"the request is already {request.state}")
        if request.kind == ChangeRequest.Kind.NEW:
            request.project.publication = Publication.REJECTED
            request.project._history_user = reviewer
            request.project.save()
        request.state = Review.REJECTED
        request.reviewed_by = reviewer
        request.reason = reason.strip()
        request.decided_at = timezone.now()
        request.save()
        _notify_submitter(request, approved=False)
    return request


def _notify_submitter(request: ChangeRequest, *, approved: bool) -> None:
    what = "new entry" if request.kind == ChangeRequest.Kind.NEW else "change"
    verdict = "approved" if approved else "not approved"
    body = f"Your {what} for {request.project.name} was {verdict}.\n"
    if not approved:
        body += f"Reason: {request.reason}\n"
    _mail_after_commit(
        to=getattr(request.submitted_by, "email", None),
        subject=f"Your {what} for {request.project.name} was {verdict}",
        body=body,
    )


# --- Disputes -----------------------------------------------------------------------------------


def dispute_create(*, finding: Finding, user, statement: str) -> Dispute:
    statement = (statement or "").strip()
    if not can_edit(user, finding.project):
        raise PermissionError("only the entry's maintainers can contest its findings")
    if finding.state != Finding.State.OPEN:
        raise ModerationError("only an open finding can be contested")
    if len(statement) < 10:
        raise ModerationError("say why the finding is wrong, in a sentence or two")
    return Dispute.objects.create(finding=finding, user=user, statement=statement[:4000])


# --- Digests -------------------------------------------------------------------------------------


def findings_digest_send(*, now=None) -> int:
    """Mail each maintainer the findings opened on their entries since their last digest,
    at most once a day. Returns the number of mails sent."""
    now = now or timezone.now()
    sent = 0
    maintainers = Maintainer.objects.select_related("user", "project").exclude(user__email="")
    by_user: dict[int, list[Maintainer]] = {}
    for m in maintainers:
        by_user.setdefault(m.user_id, []).append(m)
    for rows in by_user.values():
        if any(m.last_digest_at and now - m.last_digest_at < DIGEST_INTERVAL for m in rows):
            continue
        lines = []
        for m in rows:
            since = m.last_digest_at or m.created
            for f in Finding.objects.filter(
                project=m.project, state=Finding.State.OPEN, first_seen__gt=since
            ):
                words = "; ".join((f.evidence or {}).get("words", []))
                lines.append(f"- {m.project.name}: {f.get_kind_display()} ({words})")
        if not lines:
            continue
        user = rows[0].user
        with transaction.atomic():
            Maintainer.objects.filter(pk__in=[m.pk for m in rows]).update(last_digest_at=now)
            _mail_after_commit(
                to=user.email,
                subject=f"{len(lines)} new finding{'s' if len(lines) != 1 else ''} on your entries",
                body="The status checker found:\n"
                + "\n".join(lines)
                + f"\n\nSee them on your account page: {site_url(reverse('account-home'))}\n",
            )
        sent += 1
    return sent
