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
    assert not [sql for sql in counts if '"projects_project"' in sql.split("FROM", 1)[1][:40]]
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
    health = tuple(params["health"].split(",")) if "health" in params else None
    expected = project_filter(
        Project.objects.published(),
        category=params.get("category"),
        health=list(health) if health else None,
        maturity=[params["maturity"]] if "maturity" in params else None,
        license=params.get("license"),
        has_findings=False if "has_findings" in params else None,
    ).order_by(F("stars").desc(nulls_last=True), Lower("name"), "pk")
    assert slugs == list(expected.values_list("slug", flat=True))
    assert count == len(slugs)


def test_by_stars_page_out_of_range_answers_404(fixture_landscape):
    client = APIClient()
    response = client.get("/api/v1/projects/", {"ordering": "-stars", "page": 99})
    assert response.status_code == 404
    assert "Invalid page" in response.json()["detail"]
