"""The directory's reads, shared by the web pages, the API and the commands."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from django.db.models import Prefetch

from projects.landscape_yml import dump_landscape, join_item
from projects.models import Category, Project, SecondaryCategory


def category_tree() -> list[Category]:
    """Pillars in display order, each with ``children`` prefetched in order."""
    return list(
        Category.objects.filter(parent__isnull=True)
        .order_by("position", "id")
        .prefetch_related(Prefetch("children", queryset=Category.objects.order_by("position", "id")))
    )


def project_as_item(project: Project) -> dict[str, Any]:
    """One entry as a landscape2 item (the inverse of the importer's mapping)."""
    fields = {
        "name": project.name,
        "description": project.description,
        "homepage_url": project.homepage_url,
        "logo_name": PurePosixPath(project.logo.name).name if project.logo else "",
        "repo_url": project.repo_url,
        "repo_branch": project.repo_branch,
        "additional_repos": project.additional_repos,
        "documentation_url": project.documentation_url,
        "other_links": project.other_links,
        "tags": project.tags,
        "maturity": project.maturity,
        "accepted_at": project.accepted_at,
        "joined_at": project.joined_at,
        "organization": project.organization,
        "twitter_url": project.twitter_url,
        "crunchbase_url": project.crunchbase_url,
    }
    second_path = [
        f"{sc.category.parent.name} / {sc.category.name}"
        for sc in project.secondarycategory_set.all()
    ]
    return join_item(fields, project.landscape_extra or {}, second_path)


def landscape_export_data(*, queryset=None) -> list[dict[str, Any]]:
    """Categories with their published entries, in display order, as landscape2 data."""
    projects = (queryset if queryset is not None else Project.objects.published()).prefetch_related(
        Prefetch(
            "secondarycategory_set",
            queryset=SecondaryCategory.objects.select_related("category__parent").order_by(
                "position"
            ),
        )
    ).order_by("position", "id")
    by_category: dict[int, list[Project]] = {}
    for project in projects:
        by_category.setdefault(project.category_id, []).append(project)
    return [
        {
            "name": pillar.name,
            "subcategories": [
                {
                    "name": sub.name,
                    "items": [project_as_item(p) for p in by_category.get(sub.pk, [])],
                }
                for sub in pillar.children.all()
            ],
        }
        for pillar in category_tree()
    ]


def landscape_export_yaml() -> str:
    return dump_landscape(landscape_export_data())


# --- Lists: filters and search shared by the web pages and the API ---------------------


def category_with_descendants(slug: str) -> list[int]:
    """Ids of the category with this slug and of its subcategories (empty if unknown)."""
    category = Category.objects.filter(slug=slug).only("id").first()
    if category is None:
        return []
    return [category.pk, *Category.objects.filter(parent=category).values_list("pk", flat=True)]


def project_filter(
    queryset,
    *,
    category: str | None = None,
    maturity: list[str] | None = None,
    health: list[str] | None = None,
    license: str | None = None,
    has_findings: bool | None = None,
    show_archived: bool = True,
):
    """Narrow a Project queryset; every argument means the same on the web pages and the API.

    ``category`` is a slug (a pillar includes its subcategories; an entry listed there
    through second_path counts too).
    """
    from django.db.models import Exists, OuterRef, Q

    from projects.models import Finding, Maturity

    if category:
        ids = category_with_descendants(category)
        queryset = queryset.filter(
            Q(category_id__in=ids) | Q(secondarycategory__category_id__in=ids)
        ).distinct()
    if maturity:
        values = ["" if m == "none" else m for m in maturity]
        queryset = queryset.filter(maturity__in=values)
    if health:
        queryset = queryset.filter(health__in=health)
    if license:
        queryset = queryset.filter(repositories__is_primary=True, repositories__license=license)
    if has_findings is not None:
        open_findings = Finding.objects.filter(project=OuterRef("pk"), state=Finding.State.OPEN)
        queryset = queryset.filter(Exists(open_findings) if has_findings else ~Exists(open_findings))
    if not show_archived:
        queryset = queryset.exclude(maturity=Maturity.ARCHIVED)
    return queryset
