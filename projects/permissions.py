"""Who may do what to an entry: one answer for the admin, the API and the pages."""

from __future__ import annotations

from django.db.models import QuerySet

from projects.models import Project

MODERATE_PERMISSION = "projects.moderate_project"
MAINTAINERS_GROUP = "Maintainers"

# What a maintainer changes directly on their own entry. Not `alternatives`: a link shows
# on the other entry's page too, so a maintainer proposes it (projects.alternatives).
MAINTAINER_EDITABLE_FIELDS = (
    "description",
    "homepage_url",
    "documentation_url",
    "other_links",
    "twitter_url",
    "logo",
    "tags",
)
# What a maintainer may propose, but staff approve first.
MODERATED_FIELDS = ("name", "repo_url", "category")
# What anyone signed in gives when submitting a new entry (which then waits for review).
SUBMISSION_FIELDS = (
    "name",
    "category",
    "description",
    "homepage_url",
    "repo_url",
    "documentation_url",
    "other_links",
    "tags",
    "twitter_url",
)
# Curated fields only reviewing staff change.
STAFF_ONLY_FIELDS = ("maturity", "publication", "repo_branch", "organization", "crunchbase_url")


def is_moderator(user) -> bool:
    """Staff who review: superusers and holders of the moderate permission."""
    return bool(
        user
        and user.is_authenticated
        and user.is_active
        and (user.is_superuser or user.has_perm(MODERATE_PERMISSION))
    )


def maintained_projects(user) -> QuerySet[Project]:
    if not user or not user.is_authenticated:
        return Project.objects.none()
    return Project.objects.filter(maintainers__user=user)


def can_edit(user, project: Project) -> bool:
    if is_moderator(user):
        return True
    return bool(
        user
        and user.is_authenticated
        and user.is_active
        and project.maintainers.filter(user=user).exists()
    )


def writable_fields(user, project: Project | None) -> frozenset[str]:
    """The fields ``user`` may send for ``project`` (or for a new entry when None); for a
    maintainer this includes the moderated ones, which are held for review."""
    if not user or not user.is_authenticated:
        return frozenset()
    if is_moderator(user):
        return frozenset(
            (*MAINTAINER_EDITABLE_FIELDS, *MODERATED_FIELDS, *SUBMISSION_FIELDS, *STAFF_ONLY_FIELDS)
        )
    if project is None:
        return frozenset(SUBMISSION_FIELDS)
    if can_edit(user, project):
        return frozenset((*MAINTAINER_EDITABLE_FIELDS, *MODERATED_FIELDS))
    return frozenset()
