"""FacetCount (kept by PostgreSQL triggers) and the copied repository facts (projects.facts):
after any sequence of writes, through any path, the counts read from the table equal the
counts of the entries themselves."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from projects.facts import project_facts_sync
from projects.models import (
    Category,
    FacetCount,
    Finding,
    Listing,
    Project,
    Publication,
    RepositoryStatus,
    SecondaryCategory,
)
from projects.selectors import (
    ListParams,
    facet_counts,
    facet_counts_from_entries,
    facet_table_available,
    facet_table_count,
    landscape_top,
    landscape_top_from_entries,
    listing_page_ids,
    project_filter,
)
from projects.services import landscape_import
from tests.conftest import FIXTURE_FILE

pytestmark = pytest.mark.django_db

HEALTHS = ["active", "inactive", "archived", "missing", "unknown"]
MATURITIES = ["", "sandbox", "graduated", "archived", "foundation"]
LICENSES = ["MIT", "Apache-2.0", "BSD-3-Clause", ""]


def _params_matrix(slugs: list[str]) -> list[ListParams]:
    rng = random.Random(5)
    combos = [ListParams(), ListParams(show_archived=True)]
    for _ in range(40):
        combos.append(
            ListParams(
                category=rng.choice(["", *slugs, "no-such-category"]),
                health=tuple(rng.sample(HEALTHS, rng.randint(0, 2))),
                maturity=tuple(rng.sample([*MATURITIES[1:], "none"], rng.randint(0, 2))),
                license=rng.choice(["", "", "MIT", "Apache-2.0"]),
                has_findings=rng.choice([None, None, True, False]),
                show_archived=rng.random() < 0.5,
            )
        )
    return combos


def assert_table_matches_entries() -> None:
    slugs = list(Category.objects.values_list("slug", flat=True))
    for params in _params_matrix(slugs):
        expected = facet_counts_from_entries(params)
        assert facet_counts(params) == expected, params
        exact = project_filter(Project.objects.published(), **params.filters()).count()
        assert facet_table_count(params) == exact == expected["total"], params
    # And the incremental rows (counts and listings) equal a rebuild from scratch.
    before, listed = _rows(), _listing()
    with connection.cursor() as cursor:
        cursor.execute("SELECT projects_facets_rebuild()")
    assert _rows() == before
    assert _listing() == listed
    # Every published entry is listed in the whole directory (0), nothing else is.
    assert {pk for cat, pk, *_ in listed if cat == 0} == set(
        Project.objects.published().values_list("pk", flat=True)
    )


def _listing() -> list:
    return sorted(
        Listing.objects.values_list(
            "category_id",
            "project_id",
            "health",
            "maturity",
            "license",
            "has_findings",
            "stars_rank",
            "name_key",
        ),
        key=repr,
    )


def _rows() -> dict:
    return {
        (
            r.category_id,
            r.via_primary,
            r.health,
            r.maturity,
            r.license,
            r.has_findings,
            r.all_licenses,
        ): r.n
        for r in FacetCount.objects.exclude(n=0)
    }


@pytest.fixture
def imported():
    if not facet_table_available():
        pytest.skip("FacetCount is kept by PostgreSQL triggers")
    landscape_import(text=FIXTURE_FILE.read_text(encoding="utf-8"))
    rng = random.Random(1)
    now = timezone.now()
    for i, project in enumerate(Project.objects.order_by("pk")):
        if project.repo_url and i % 3:
            RepositoryStatus.objects.create(
                project=project,
                url=project.repo_url,
                host="github.com",
                owner="o",
                name=f"r{i}",
                stars=rng.randint(0, 90_000),
                license=rng.choice(LICENSES),
                pushed_at=now - timedelta(days=i),
            )
        Project.objects.filter(pk=project.pk).update(health=rng.choice(HEALTHS))
    return Project.objects.order_by("pk")


def test_counts_from_the_table_equal_counts_of_the_entries_on_the_fixture(imported):
    assert FacetCount.objects.filter(category_id=0, all_licenses=True).exists()
    assert_table_matches_entries()


def test_every_kind_of_write_keeps_the_counts_exact(imported, admin_user):
    rng = random.Random(9)
    projects = list(imported)
    leaves = list(Category.objects.filter(parent__isnull=False))
    pillars = list(Category.objects.filter(parent__isnull=True))

    def one_write(step: int) -> None:
        project = rng.choice(projects)
        kind = step % 11
        if kind == 0:  # a worker's health update (queryset.update, no signal)
            Project.objects.filter(pk=project.pk).update(health=rng.choice(HEALTHS))
        elif kind == 1:  # the admin or the API: save() of a moved, re-tagged entry
            project.refresh_from_db()
            project.category = rng.choice(leaves)
            project.maturity = rng.choice(MATURITIES)
            project.save()
        elif kind == 2:  # second_path added
            SecondaryCategory.objects.get_or_create(
                project=project, category=rng.choice(leaves), defaults={"position": 5}
            )
        elif kind == 3:  # second_path removed
            SecondaryCategory.objects.filter(project=project).delete()
        elif kind == 4:  # unpublished, then republished later
            Project.objects.filter(pk=project.pk).update(
                publication=rng.choice([Publication.PENDING, Publication.PUBLISHED])
            )
        elif kind == 5:  # a finding opened or resolved: has_open_findings moves
            open_ = Finding.objects.filter(project=project, state=Finding.State.OPEN).first()
            if open_ is None:
                Finding.objects.create(
                    project=project,
                    kind=Finding.Kind.INACTIVE,
                    subject=f"s{step}",
                    evidence={},
                    first_seen=timezone.now(),
                    last_seen=timezone.now(),
                )
            else:
                open_.state = Finding.State.RESOLVED
                open_.save()
        elif kind == 6:  # the repository's license and stars change (a refresh)
            repo = RepositoryStatus.objects.filter(project=project).first()
            if repo is not None:
                repo.license = rng.choice(LICENSES)
                repo.stars = rng.randint(0, 100)
                repo.save()
        elif kind == 7:  # an entry deleted (its second_path rows go first)
            projects.remove(project)
            project.delete()
        elif kind == 9:  # only the stars change (the most frequent refresh)
            repo = RepositoryStatus.objects.filter(project=project).first()
            if repo is not None:
                repo.stars = rng.choice([None, rng.randint(0, 100_000)])
                repo.save()
        elif kind == 10:  # only the name changes, for some entries at once
            ids = [p.pk for p in rng.sample(projects, 3)]
            Project.objects.filter(pk__in=ids).update(
                name=Concat(Value(f"Renamed {step} "), Cast("pk", CharField()))
            )
        else:  # a bulk move in one statement
            ids = [p.pk for p in rng.sample(projects, 5)]
            Project.objects.filter(pk__in=ids).update(category=rng.choice(leaves))

    for step in range(110):
        one_write(step)
    assert_table_matches_entries()

    # A subcategory moved to another pillar: every entry under it changes pillar.
    leaf = leaves[0]
    leaf.parent = next(p for p in pillars if p.pk != leaf.parent_id)
    leaf.save()
    assert_table_matches_entries()


def test_a_change_of_stars_or_name_alone_reorders_without_touching_the_counts(imported):
    def facet_versions():
        with connection.cursor() as cursor:
            cursor.execute("SELECT ctid, xmin::text FROM projects_facetcount ORDER BY 1")
            return cursor.fetchall()

    params = ListParams(show_archived=True)
    first, second = listing_page_ids(params, offset=0, limit=2)
    before = facet_versions()
    Project.objects.filter(pk=second).update(stars=10_000_000)  # as a refresh's facts sync
    Project.objects.filter(pk=first).update(name="Renamed alone")
    assert facet_versions() == before  # no FacetCount row was written
    assert listing_page_ids(params, offset=0, limit=1) == [second]
    assert Listing.objects.filter(project_id=first).values_list("name_key", flat=True)[0] == (
        "renamed alone"
    )
    assert_table_matches_entries()


def test_a_write_that_fails_leaves_the_counts_unchanged(imported):
    before, listed = _rows(), _listing()
    project = imported.first()

    def failing_write():
        with transaction.atomic():
            Project.objects.filter(pk=project.pk).update(health="missing", maturity="archived")
            SecondaryCategory.objects.create(
                project=project, category=Category.objects.filter(parent__isnull=False).last()
            )
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        failing_write()
    assert (_rows(), _listing()) == (before, listed)


def test_landscape_boxes_from_the_table_equal_the_window_over_the_entries(imported):
    for params in (ListParams(), ListParams(show_archived=True), ListParams(health=("active",))):
        for limit in (1, 3, 24):
            top, totals = landscape_top(params, limit=limit)
            top_entries, totals_entries = landscape_top_from_entries(params, limit=limit)
            assert sorted(p.pk for p in top) == sorted(p.pk for p in top_entries)
            assert totals == totals_entries


def test_facts_follow_the_primary_repository_and_the_findings(imported):
    project = Project.objects.filter(repo_url__isnull=False).order_by("pk").first()
    RepositoryStatus.objects.filter(project=project).delete()
    project.refresh_from_db()
    assert (project.stars, project.license, project.last_activity, project.pushed_at) == (
        None, "", None, None,
    )  # fmt: skip

    pushed = timezone.now() - timedelta(days=3)
    repo = RepositoryStatus.objects.create(
        project=project, url=project.repo_url, host="github.com", owner="x", name="y",
        stars=1234, license="MIT", pushed_at=pushed,
    )  # fmt: skip
    project.refresh_from_db()
    assert (project.stars, project.license, project.last_activity, project.pushed_at) == (
        1234, "MIT", pushed, pushed,
    )  # fmt: skip

    # An additional (not primary) repository never overrides the primary one's facts.
    RepositoryStatus.objects.create(
        project=project, is_primary=False, url="https://github.com/x/z", host="github.com",
        owner="x", name="z", stars=1, license="GPL-3.0",
    )  # fmt: skip
    project.refresh_from_db()
    assert (project.stars, project.license) == (1234, "MIT")

    repo.stars = 99
    repo.save()
    project.refresh_from_db()
    assert project.stars == 99

    Finding.objects.filter(project=project).delete()
    project.refresh_from_db()
    assert project.has_open_findings is False
    finding = Finding.objects.create(
        project=project, kind=Finding.Kind.INACTIVE, subject="s", evidence={},
        first_seen=timezone.now(), last_seen=timezone.now(),
    )  # fmt: skip
    project.refresh_from_db()
    assert project.has_open_findings is True
    finding.state = Finding.State.DISMISSED
    finding.save()
    project.refresh_from_db()
    assert project.has_open_findings is False


def test_bulk_writers_resync_the_facts_in_one_statement(imported):
    # A bulk write sends no signal; project_facts_sync() is what bulk writers call.
    RepositoryStatus.objects.filter(is_primary=True).update(stars=7)
    assert Project.objects.filter(stars=7).count() == 0
    updated = project_facts_sync()
    assert updated == Project.objects.count()
    with_primary = Project.objects.filter(repositories__is_primary=True).distinct()
    assert set(with_primary.values_list("stars", flat=True)) == {7}
