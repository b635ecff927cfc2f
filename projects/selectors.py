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
