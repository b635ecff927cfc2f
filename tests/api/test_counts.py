"""The list's ``count`` is exact on every path: from FacetCount rows (anonymous, facet
filters only), from the ranked search's window (``q``), or from a COUNT (the rest)."""

from __future__ import annotations

import itertools

import pytest
from django.db import connection
from django.db.models import F
from django.db.models.functions import Lower
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from projects.models import Project, Publication, RepositoryStatus
from projects.search import project_search
from projects.selectors import project_filter
from projects.services import landscape_import
from tests.api.conftest import make_user
from tests.conftest import FIXTURE_FILE

pytestmark = pytest.mark.django_db


@pytest.fixture
def fixture_landscape():
    landscape_import(text=FIXTURE_FILE.read_text(encoding="utf-8"))
    # Some entries unpublished: anonymous counts must leave them out, staff's include them.
    hidden = list(Project.objects.order_by("pk").values_list("pk", flat=True)[::9])
    Project.objects.filter(pk__in=hidden).update(publication=Publication.PENDING)
    for i, project in enumerate(Project.objects.order_by("pk")):
        Project.objects.filter(pk=project.pk).update(
            health=["active", "inactive", "archived", "unknown"][i % 4]
        )
        if project.repo_url and i % 5:  # stars with ties (i % 7), some entries without any
            RepositoryStatus.objects.create(
                project=project, url=project.repo_url, host="github.com", owner="o",
                name=f"r{i}", stars=(i % 7) * 100, license=["MIT", "Apache-2.0"][i % 2],
            )  # fmt: skip
    return hidden


def all_pages(client, params) -> tuple[int, list[str]]:
    data = client.get("/api/v1/projects/", {**params, "page_size": 40}).json()
    count, slugs = data["count"], [p["slug"] for p in data["results"]]
    while data["next"]:
        data = client.get(data["next"]).json()
        assert data["count"] == count
        slugs += [p["slug"] for p in data["results"]]
    return count, slugs


def kept_entries(params):
    """The published entries the API's facet parameters keep (has_findings only as
    "false", the only value these tests ask), from project_filter() itself."""
    return project_filter(
        Project.objects.published(),
        category=params.get("category"),
        health=params["health"].split(",") if "health" in params else None,
        maturity=[params["maturity"]] if "maturity" in params else None,
        license=params.get("license"),
        has_findings=False if "has_findings" in params else None,
    )


FILTERS = [
    {},
    {"category": "modeling"},
    {"category": "training-general"},
    {"category": "pytorch-members"},
    {"health": "active"},
    {"health": "active,inactive"},
    {"maturity": "archived"},
    {"maturity": "none"},
    {"has_findings": "false"},
    {"category": "modeling", "health": "inactive", "ordering": "-stars"},
    {"category": "optimizations", "maturity": "none", "health": "unknown,archived"},
    {"category": "no-such-category"},
]


@pytest.mark.parametrize(
    "params", FILTERS, ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()) or "all"
)
def test_anonymous_count_from_facet_rows_equals_the_entries_listed(fixture_landscape, params):
    client = APIClient()
    response = client.get("/api/v1/projects/", params)
    if params.get("category") == "no-such-category":
        assert response.status_code == 400
        return
    count, slugs = all_pages(client, params)
    assert count == len(slugs) == len(set(slugs))
    hidden = set(Project.objects.filter(pk__in=fixture_landscape).values_list("slug", flat=True))
    assert not hidden & set(slugs)


def test_anonymous_facet_list_runs_no_count_over_the_entries(fixture_landscape):
    client = APIClient()
    client.get("/api/v1/projects/", {"category": "modeling", "health": "active"})
    with CaptureQueriesContext(connection) as queries:
        response = client.get(
            "/api/v1/projects/", {"category": "modeling", "health": "active", "page": 1}
        )
    assert response.status_code == 200
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    # Only the entries listed in the category through second_path are counted, by id.
    by_id = '"projects_project"."id" = ANY(ARRAY(SELECT U0."project_id"'
    over_entries = [sql for sql in counts if '"projects_project"' in sql.split("FROM", 1)[1][:40]]
    assert all(by_id in sql and "projects_secondarycategory" in sql for sql in over_entries)
    assert any("projects_facetcount" in q["sql"] for q in queries)


def test_staff_counts_include_unpublished_entries(fixture_landscape):
    client = APIClient()
    client.force_authenticate(make_user("curator", staff=True))
    count, slugs = all_pages(client, {"health": "active"})
    assert count == len(slugs) == Project.objects.filter(health="active").count()
    assert count > APIClient().get("/api/v1/projects/", {"health": "active"}).json()["count"]


@pytest.mark.parametrize("q", ["torch", "vision", "pytorh lightnin", "graph -neural", "zzzzqqq"])
def test_search_count_from_the_ranked_window_is_exact(fixture_landscape, q):
    client = APIClient()
    expected = project_search(Project.objects.published(), q).count()
    if expected == 0:
        data = client.get("/api/v1/projects/", {"q": q}).json()
        assert (data["count"], data["results"]) == (0, [])
        return
    count, slugs = all_pages(client, {"q": q})
    assert count == len(slugs) == expected


def test_search_page_out_of_range_is_a_404_and_pages_do_not_overlap(fixture_landscape):
    client = APIClient()
    first = client.get("/api/v1/projects/", {"q": "torch", "page_size": 5}).json()
    second = client.get("/api/v1/projects/", {"q": "torch", "page_size": 5, "page": 2}).json()
    assert first["count"] == second["count"] > 10
    assert not {p["slug"] for p in first["results"]} & {p["slug"] for p in second["results"]}
    far = client.get("/api/v1/projects/", {"q": "torch", "page": 999})
    assert far.status_code == 404


def test_filters_combine_with_search_and_counts_stay_exact(fixture_landscape):
    client = APIClient()
    for q, category in itertools.product(["torch", "learning"], ["modeling", "training"]):
        count, slugs = all_pages(client, {"q": q, "category": category})
        assert count == len(slugs)


BY_STARS = [
    {},
    {"category": "modeling"},
    {"category": "training-general", "health": "active,unknown"},
    {"health": "unknown"},
    {"category": "pytorch-members", "maturity": "none"},
    {"license": "MIT", "has_findings": "false"},
]


@pytest.mark.parametrize(
    "params", BY_STARS, ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()) or "all"
)
def test_by_stars_from_listing_rows_equals_the_entries_sorted(fixture_landscape, params):
    client = APIClient()
    count, slugs = all_pages(client, {**params, "ordering": "-stars"})
    expected = kept_entries(params).order_by(F("stars").desc(nulls_last=True), Lower("name"), "pk")
    assert slugs == list(expected.values_list("slug", flat=True))
    assert count == len(slugs)


def test_by_stars_page_out_of_range_answers_404(fixture_landscape):
    client = APIClient()
    response = client.get("/api/v1/projects/", {"ordering": "-stars", "page": 99})
    assert response.status_code == 404
    assert "Invalid page" in response.json()["detail"]


IN_LANDSCAPE_ORDER = [
    {},
    {"health": "active,inactive"},
    {"maturity": "none"},
    {"license": "MIT", "has_findings": "false"},
    {"health": "unknown", "maturity": "archived"},
    {"category": "modeling"},
    {"category": "modeling", "health": "active,unknown"},
    {"category": "training"},
    {"category": "pytorch-members", "maturity": "none"},
    {"category": "no-such-category"},
]


def _landscape_ties():
    """Two subcategories of Modeling at the same position (their entries interleave by
    the entries' own positions), entries filed on pillars (their pillar position is
    NULL, which PostgreSQL sorts last), and entries of other pillars listed in Modeling's
    and Training's subcategories through second_path."""
    from projects.models import Category, SecondaryCategory

    modeling = Category.objects.get(slug="modeling")
    first, second = modeling.children.order_by("position")[:2]
    Category.objects.filter(pk=second.pk).update(position=first.position)
    movable = Project.objects.published().order_by("pk")[::6]
    Project.objects.filter(pk__in=[p.pk for p in movable[:4]]).update(category=modeling)
    Project.objects.filter(category__in=[first, second]).update(position=F("pk") % 5)
    training = Category.objects.get(slug="training").children.order_by("position").first()
    for i, project in enumerate(Project.objects.exclude(category__parent=modeling)[::5]):
        SecondaryCategory.objects.create(project=project, category=[second, training][i % 2])


@pytest.mark.parametrize(
    "params",
    IN_LANDSCAPE_ORDER,
    ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()) or "all",
)
def test_landscape_order_pages_from_facet_rows_equal_the_entries_sorted(fixture_landscape, params):
    from api.views import LANDSCAPE_ORDER

    _landscape_ties()
    if params.get("category") == "no-such-category":
        assert APIClient().get("/api/v1/projects/", params).status_code == 400
        return
    expected = kept_entries(params).order_by(*LANDSCAPE_ORDER)
    expected = list(expected.values_list("slug", flat=True))
    assert expected  # every filter set keeps some entries
    for page_size in (40, 7):
        anonymous = APIClient()
        count, slugs = all_pages(anonymous, {**params, "page_size": page_size})
        assert slugs == expected
        assert count == len(expected)
    # A signed-in visitor's list (sorted by the database) pages the same way.
    member = APIClient()
    member.force_authenticate(make_user("member"))
    assert all_pages(member, params) == (len(expected), expected)


@pytest.mark.parametrize("category", [None, "modeling", "modeling-computer-vision"])
def test_landscape_order_page_does_not_sort_the_directory(fixture_landscape, category):
    client = APIClient()
    params = {"page_size": 3, **({"category": category} if category else {})}
    client.get("/api/v1/projects/", params)  # the first page: warm, and not kept for page 2
    params["page"] = 2
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/projects/", params)
    assert response.status_code == 200 and len(response.json()["results"]) == 3
    # The categories' positions are read once from the category table, not joined to
    # every entry to sort them (70 ms for the first page at 100,000 entries, 240 ms for
    # the last).
    entry_reads = [q["sql"] for q in queries if 'FROM "projects_project"' in q["sql"]]
    assert entry_reads
    assert not [sql for sql in entry_reads if '"projects_category"."position"' in sql]
    far = client.get("/api/v1/projects/", {"page": 99})
    assert far.status_code == 404
