"""An entry's page from one statement (projects_entry_page) reads exactly what the ORM reads
(project_for_page, primary_repository, star_series, related_entries): the same rows, in
the same order, with the same values, for every entry of the real landscape and of a
directory with every kind of row the page shows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from projects import selectors
from projects.models import (
    Category,
    Finding,
    LinkStatus,
    Maintainer,
    Project,
    RepositoryStatus,
    SecondaryCategory,
    Snapshot,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="projects_entry_page exists on PostgreSQL"
    ),
]

TILE = ("pk", "name", "slug", "logo", "health", "maturity", "category_id", "stars")


def _fields(obj, names=None) -> dict:
    """The loaded values of a model instance (all its concrete fields, or ``names``)."""
    if names is None:
        names = [f.attname for f in obj._meta.concrete_fields]
    return {name: getattr(obj, name) for name in names}


def _comparable(page: selectors.EntryPage) -> dict:
    project = page.project
    category = project.category
    return {
        "project": _fields(project),
        "category": _fields(category),
        "pillar": _fields(category.parent) if category.parent_id else None,
        "repository": _fields(page.repository) if page.repository else None,
        "stars": page.stars,
        "related": [_fields(p, (*TILE, "position")) for p in page.related],
        "alternatives": [_fields(p, TILE) for p in page.alternatives],
        "secondary": [
            (_fields(c), _fields(c.parent) if c.parent_id else None) for c in page.secondary
        ],
        "maintainers": [
            (_fields(m), m.user.pk, m.user.get_username(), m.user.first_name)
            for m in page.maintainers
        ],
        "links": [_fields(link) for link in page.links],
        "findings": [_fields(f) for f in page.findings],
    }


def assert_every_page_reads_alike() -> int:
    slugs = list(Project.objects.published().values_list("slug", flat=True))
    for slug in slugs:
        assert _comparable(selectors.entry_page(slug)) == _comparable(
            selectors.entry_page_from_orm(slug)
        ), slug
    return len(slugs)


def test_every_entry_of_the_real_landscape_reads_alike(db, shared_data):
    call_command("import_landscape", str(shared_data / "landscape.yml"), verbosity=0)
    assert assert_every_page_reads_alike() >= 180


def test_every_kind_of_row_reads_alike(db, shared_data):
    """Second paths, maintainers, alternatives, links, open and resolved findings, several
    repositories, snapshots inside and outside the year, an entry filed on a pillar, and
    unpublished entries that no page may show."""
    call_command("import_landscape", str(shared_data / "landscape.yml"), verbosity=0)
    now = timezone.now()
    projects = list(Project.objects.published().order_by("pk"))
    pillar = Category.objects.filter(parent__isnull=True).order_by("position").first()
    users = [
        get_user_model().objects.create_user(f"keeper{i}", first_name=f"Kee {i}") for i in range(3)
    ]
    for i, project in enumerate(projects[:40]):
        if i % 4 == 0:
            project.category = pillar  # filed on the pillar: related is the whole tree
            project.save()
        if i % 5 == 0:
            project.publication = "draft"  # in no page's related tiles or alternatives
            project.save()
            continue
        # From other categories, in an order neither landscape nor id order gives.
        far = [projects[-1 - i], projects[len(projects) // 2 + i], projects[1], projects[i + 1]]
        project.alternatives.set(far[: 1 + i % 4])
        for j, user in enumerate(users[: i % 3]):
            Maintainer.objects.create(user=user, project=project, verified=bool(j % 2))
        for kind_number, kind in enumerate(
            ("homepage", "documentation", "other", "other")[: i % 5]
        ):
            LinkStatus.objects.create(
                project=project,
                kind=kind,
                url=f"https://example.org/{project.slug}/{kind}/{9 - kind_number}",
                ok=i % 2 == 0,
                status_code=200 if i % 2 == 0 else 404,
                checked_at=now - timedelta(hours=i),
            )
        for k in range(i % 4):
            Finding.objects.create(
                project=project,
                kind="link_broken",
                subject=f"https://example.org/{project.slug}/{k}",
                state="open" if k % 3 else "resolved",
                evidence={"status": 404, "k": k},
                first_seen=now - timedelta(days=k),
                last_seen=now - timedelta(days=k % 2),
            )
        if i % 3 == 0:
            RepositoryStatus.objects.create(
                project=project,
                is_primary=False,
                url=f"https://github.com/extra/{project.slug}",
                host="github.com",
                owner="extra",
                name=project.slug,
                stars=i,
            )
        repository = RepositoryStatus.objects.filter(project=project).order_by("pk").first()
        if repository is not None:
            Snapshot.objects.bulk_create(
                Snapshot(repository=repository, day=now.date() - timedelta(days=d), stars=d)
                for d in (0, 3, 200, 364, 365, 366, 500)
            )
        if i % 2:
            SecondaryCategory.objects.get_or_create(
                project=project,
                category=projects[(i * 7) % len(projects)].category,
                defaults={"position": 5},
            )
    assert assert_every_page_reads_alike() >= 150


def test_one_statement_reads_the_page(db, shared_data):
    """Everything the page shows of what entry_page gives needs no further query."""
    call_command("import_landscape", str(shared_data / "landscape.yml"), verbosity=0)
    project, other = Project.objects.published().order_by("pk")[:2]
    SecondaryCategory.objects.get_or_create(
        project=project, category=other.category, defaults={"position": 3}
    )
    user = get_user_model().objects.create_user("keeper", first_name="Kee")
    Maintainer.objects.create(user=user, project=project, verified=True)
    project.alternatives.set([other])
    LinkStatus.objects.create(project=project, kind="homepage", url="https://example.org/")
    Finding.objects.create(
        project=project,
        kind="user_report",
        subject="",
        evidence={"reason": "moved"},
        first_seen=timezone.now(),
        last_seen=timezone.now(),
    )
    with CaptureQueriesContext(connection) as ctx:
        page = selectors.entry_page(project.slug)
        shown = [
            page.project.name,
            page.project.category.name,
            page.project.category.parent and page.project.category.parent.slug,
            [(c.slug, str(c)) for c in page.secondary],
            [(m.user.get_username(), m.verified) for m in page.maintainers],
            [(p.name, p.slug, bool(p.logo), p.health, p.stars) for p in page.alternatives],
            [(p.name, p.get_absolute_url()) for p in page.related],
            [(link.get_kind_display(), link.ok) for link in page.links],
            [(f.get_kind_display(), f.evidence["reason"]) for f in page.findings],
        ]
    assert len(ctx.captured_queries) == 1, [q["sql"][:80] for q in ctx.captured_queries]
    assert shown[3] and shown[4] == [("keeper", True)] and shown[5] and shown[7] and shown[8]


@pytest.mark.parametrize("publication", ["draft", "rejected"])
def test_an_unpublished_or_unknown_entry_has_no_page(db, shared_data, publication):
    call_command("import_landscape", str(shared_data / "landscape.yml"), verbosity=0)
    project = Project.objects.published().order_by("pk").first()
    Project.objects.filter(pk=project.pk).update(publication=publication)
    for slug in (project.slug, "no-such-entry"):
        with pytest.raises(Http404):
            selectors.entry_page(slug)
