"""Alternatives: an entry names other entries that do the same job, shown on both pages.

``Project.alternatives`` is symmetrical, so a link written from one entry changes the other
entry's page too. A maintainer therefore only proposes one (AlternativeProposal); it links
when a maintainer of the other entry, or staff, accept it. Only published entries link.

Every change of the link, whichever path makes it (these services, staff in the admin, an
approved held change), is recorded by ``_alternatives_changed`` below: a history record on
both entries (simple-history records only the saved side, and nothing for a relation) and
the proposal ledger kept in step, so that each link has its accepted row.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.signals import m2m_changed
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from landscape.site import site_url
from projects.models import AlternativeProposal, Project, Publication
from projects.moderation import ModerationError, _mail_after_commit
from projects.permissions import can_edit, is_moderator, maintained_projects
from projects.web.cache import bump_version

State = AlternativeProposal.State
# simple-history's change reason column (CharField(max_length=100)).
REASON_MAX = 100


# --- Reads ----------------------------------------------------------------------------------


def alternative_proposals_visible(*, user) -> QuerySet[AlternativeProposal]:
    """The proposals ``user`` may see: staff all; a maintainer those from their own entries,
    and those to their own entries from a published one (never another user's pending
    submission)."""
    proposals = AlternativeProposal.objects.select_related(
        "from_project", "to_project", "proposed_by", "decided_by"
    )
    if is_moderator(user):
        return proposals
    mine = maintained_projects(user).values("pk")
    return proposals.filter(
        Q(from_project__in=mine)
        | Q(to_project__in=mine, from_project__publication=Publication.PUBLISHED)
    )


def alternative_may_decide(*, user, proposal: AlternativeProposal) -> bool:
    """Accepting or declining is for a maintainer of the proposed entry, or staff: the
    link changes that entry's page."""
    return can_edit(user, proposal.to_project)


def alternative_proposal_check(*, project: Project, alternative: Project | None, user) -> None:
    """Raise (PermissionError, ModerationError with the reason) unless ``user`` may propose
    ``alternative`` for ``project`` now. The admin's form asks it to show the reason on the
    field; alternative_propose asks again under its locks."""
    if not can_edit(user, project):
        raise PermissionError(f"you do not maintain {project.name}")
    if project.publication != Publication.PUBLISHED:
        raise ModerationError(f"{project.name} is not published: only published entries link")
    if alternative is None or alternative.publication != Publication.PUBLISHED:
        raise ModerationError("there is no published entry by that name")
    if alternative.pk == project.pk:
        raise ModerationError("an entry is not its own alternative")
    if project.alternatives.filter(pk=alternative.pk).exists():
        raise ModerationError(f"{alternative.name} is already an alternative to {project.name}")
    if AlternativeProposal.objects.filter(
        from_project=project, to_project=alternative, state=State.PROPOSED
    ).exists():
        raise ModerationError(
            f"{alternative.name} is already proposed; a maintainer of it has not answered yet"
        )


# --- Writes ---------------------------------------------------------------------------------


def _lock_pair(first: Project, second: Project) -> tuple[Project, Project]:
    """Both entries, locked in id order: decisions on one pair are made one at a time."""
    rows = {
        p.pk: p
        for p in Project.objects.select_for_update()
        .filter(pk__in=[first.pk, second.pk])
        .order_by("pk")
    }
    if first.pk not in rows or second.pk not in rows:
        raise ModerationError("one of the entries no longer exists")
    return rows[first.pk], rows[second.pk]


def _pair(a: Project, b: Project) -> Q:
    return Q(from_project=a, to_project=b) | Q(from_project=b, to_project=a)


def alternative_propose(*, project: Project, alternative: Project, user) -> AlternativeProposal:
    """``user`` (a maintainer of ``project``) proposes ``alternative``. It links at once when
    ``user`` may also decide for ``alternative`` (staff, a maintainer of both) or when the
    other side had already proposed the same link; otherwise it waits and the other entry's
    maintainers are told."""
    with transaction.atomic():
        project, alternative = _lock_pair(project, alternative)
        alternative_proposal_check(project=project, alternative=alternative, user=user)
        proposal = (
            AlternativeProposal.objects.select_for_update()
            .filter(from_project=alternative, to_project=project, state=State.PROPOSED)
            .first()
        )
        if proposal is None:
            proposal = AlternativeProposal.objects.create(
                from_project=project, to_project=alternative, proposed_by=user
            )
        proposal.from_project, proposal.to_project = (
            (project, alternative)
            if proposal.from_project_id == project.pk
            else (alternative, project)
        )
        if alternative_may_decide(user=user, proposal=proposal):
            return _accept(proposal, user=user)
        admin = site_url(reverse("admin:projects_alternativeproposal_changelist"))
        for email in alternative.maintainers.exclude(user__email="").values_list(
            "user__email", flat=True
        ):
            _mail_after_commit(
                to=email,
                subject=f"{project.name} proposes {alternative.name} as an alternative",
                body=(
                    f"A maintainer of {project.name} proposes to list {alternative.name} and "
                    f"{project.name} as alternatives to each other, on both pages.\n"
                    f"Accept or decline: {admin}\n"
                ),
            )
    return proposal


def alternative_accept(*, proposal: AlternativeProposal, user) -> AlternativeProposal:
    """A maintainer of the proposed entry, or staff, accepts: the entries link."""
    proposal = AlternativeProposal.objects.select_related("from_project", "to_project").get(
        pk=proposal.pk
    )
    if not alternative_may_decide(user=user, proposal=proposal):
        raise PermissionError(f"only a maintainer of {proposal.to_project.name} or staff decide")
    with transaction.atomic():
        from_project, to_project = _lock_pair(proposal.from_project, proposal.to_project)
        proposal = AlternativeProposal.objects.select_for_update().get(pk=proposal.pk)
        if proposal.state != State.PROPOSED:
            raise ModerationError(f"the proposal is already {proposal.state}")
        unpublished = [
            p.name for p in (from_project, to_project) if p.publication != Publication.PUBLISHED
        ]
        if unpublished:
            raise ModerationError(f"{', '.join(unpublished)} is no longer published")
        proposal.from_project, proposal.to_project = from_project, to_project
        return _accept(proposal, user=user)


def _accept(proposal: AlternativeProposal, *, user) -> AlternativeProposal:
    proposal.state = State.ACCEPTED
    proposal.decided_by = user if getattr(user, "pk", None) else None
    proposal.decided_at = timezone.now()
    proposal.save(update_fields=["state", "decided_by", "decided_at"])
    project = proposal.from_project
    project._history_user = proposal.decided_by
    project._change_reason = f"proposal {proposal.pk}"
    project.alternatives.add(proposal.to_project)  # recorded by _alternatives_changed
    _notify_proposer(proposal)
    return proposal


def alternative_decline(*, proposal: AlternativeProposal, user) -> AlternativeProposal:
    """A maintainer of the proposed entry (or staff) declines; one of the proposing entry
    withdraws it."""
    proposal = AlternativeProposal.objects.select_related("from_project", "to_project").get(
        pk=proposal.pk
    )
    if alternative_may_decide(user=user, proposal=proposal):
        state = State.DECLINED
    elif can_edit(user, proposal.from_project):
        state = State.WITHDRAWN
    else:
        raise PermissionError(f"you maintain neither {proposal.from_project.name} nor its match")
    with transaction.atomic():
        proposal = AlternativeProposal.objects.select_for_update().get(pk=proposal.pk)
        if proposal.state != State.PROPOSED:
            raise ModerationError(f"the proposal is already {proposal.state}")
        proposal.state = state
        proposal.decided_by = user
        proposal.decided_at = timezone.now()
        proposal.save(update_fields=["state", "decided_by", "decided_at"])
        if state == State.DECLINED:
            _notify_proposer(proposal)
    return proposal


def alternative_remove(*, project: Project, alternative: Project, user) -> None:
    """Unlink two entries. Either entry's maintainers (or staff) may: a link needs both
    sides' consent to exist, and either may withdraw it."""
    if not (can_edit(user, project) or can_edit(user, alternative)):
        raise PermissionError(f"you maintain neither {project.name} nor {alternative.name}")
    with transaction.atomic():
        project, alternative = _lock_pair(project, alternative)
        if not project.alternatives.filter(pk=alternative.pk).exists():
            raise ModerationError(f"{alternative.name} is not an alternative to {project.name}")
        project._history_user = user
        project.alternatives.remove(alternative)  # recorded by _alternatives_changed


def _notify_proposer(proposal: AlternativeProposal) -> None:
    proposer = proposal.proposed_by
    if proposer is None or proposer.pk == getattr(proposal.decided_by, "pk", None):
        return
    _mail_after_commit(
        to=proposer.email,
        subject=(
            f"{proposal.to_project.name} as an alternative to {proposal.from_project.name}: "
            f"{proposal.get_state_display()}"
        ),
        body=f"Your proposal was {proposal.get_state_display()}.\n",
    )


# --- Recording every change of the link ---------------------------------------------------


def _acting_user(project: Project):
    """Who changes the link: as simple-history decides it (the instance's _history_user,
    else the signed-in user of the request its middleware keeps)."""
    user = getattr(project, "_history_user", None)
    if user is None:
        request = getattr(HistoricalRecords.context, "request", None)
        user = getattr(request, "user", None)
    return user if getattr(user, "is_authenticated", False) else None


def _reason(text: str, note: str | None) -> str:
    text = f"{text} ({note})" if note else text
    return text if len(text) <= REASON_MAX else text[: REASON_MAX - 1] + "…"


def _record(*, project: Project, others: set[int], linked: bool) -> None:
    user = _acting_user(project)
    note = getattr(project, "_change_reason", None)
    now = timezone.now()
    entries = {p.pk: p for p in Project.objects.filter(pk__in={project.pk, *others})}
    me = entries[project.pk]
    counterparts = [entries[pk] for pk in sorted(others) if pk in entries]
    if not counterparts:
        return
    verb = "linked" if linked else "unlinked"
    me._change_reason = _reason(
        f"alternatives {verb}: {', '.join(p.name for p in counterparts)}", note
    )
    for other in counterparts:
        other._change_reason = _reason(f"alternative {verb}: {me.name}", note)
    for entry in (me, *counterparts):
        entry._history_user = user
    Project.history.bulk_history_create([me, *counterparts], update=True, default_date=now)

    for other in counterparts:
        pair = AlternativeProposal.objects.filter(_pair(me, other))
        if linked:
            # Whoever linked them decided every open proposal of the pair, and a link made
            # without one (staff in the admin) gets its accepted row.
            pair.filter(state=State.PROPOSED).update(
                state=State.ACCEPTED, decided_by=user, decided_at=now
            )
            if not pair.filter(state=State.ACCEPTED).exists():
                AlternativeProposal.objects.create(
                    from_project=me,
                    to_project=other,
                    proposed_by=user,
                    state=State.ACCEPTED,
                    decided_by=user,
                    decided_at=now,
                )
        else:
            pair.filter(state=State.ACCEPTED).update(state=State.REMOVED)


@receiver(m2m_changed, sender=Project.alternatives.through, dispatch_uid="alternatives_recorded")
def _alternatives_changed(sender, instance, action, pk_set, **kwargs):
    # A symmetrical relation signals once per change, from the side it was changed from.
    if action in ("pre_remove", "pre_clear"):
        linked = instance.alternatives.all()
        if action == "pre_remove":
            linked = linked.filter(pk__in=pk_set or ())
        instance._alternatives_leaving = set(linked.values_list("pk", flat=True))
        return
    if action == "post_add":
        others = set(pk_set or ())
    elif action in ("post_remove", "post_clear"):
        others = instance.__dict__.pop("_alternatives_leaving", set())
    else:
        return
    if others:
        _record(project=instance, others=others, linked=action == "post_add")
        bump_version()  # both pages show the link
