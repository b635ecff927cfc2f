"""HTTP behaviour: conditional GETs, cache headers, throttling, CORS, the browsable API and
the documentation pages; and the category, stats and findings reads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client
from rest_framework.test import APIClient

from projects.models import Finding, Project, RepositoryStatus, SecondaryCategory

pytestmark = pytest.mark.django_db

READS = [
    "/api/v1/projects/",
    "/api/v1/projects/?maturity=archived",
    "/api/v1/projects/alpha/",
    "/api/v1/categories/",
    "/api/v1/stats/",
    "/api/v1/findings/",
    "/api/v1/export/landscape.yml",
    "/api/v1/export/projects.csv",
    "/api/v1/export/projects.json",
]
NOW = datetime(2025, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize("url", READS)
def test_a_conditional_get_answers_304_until_something_changes(small_landscape, url):
    client = APIClient()
    first = client.get(url)
    assert first.status_code == 200
    etag, last_modified = first["ETag"], first["Last-Modified"]
    assert first["Cache-Control"] == "public, max-age=60"
    assert "Accept" in first["Vary"]

    again = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    assert client.get(url, HTTP_IF_MODIFIED_SINCE=last_modified).status_code == 304

    # A change anything shown depends on (here, a repository observed) gives a new ETag.
    RepositoryStatus.objects.create(
        project=small_landscape["projects"]["alpha"],
        url="https://github.com/example/alpha",
        host="github.com",
        owner="example",
        name="alpha",
        stars=5,
        checked_at=NOW,
    )
    changed = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag


def test_a_kept_entry_answers_304_to_its_own_last_modified(small_landscape):
    """An anonymous read of an entry is kept whole (projects.web.kept); a conditional GET
    answered from it compares If-Modified-Since with the entry's Last-Modified, as the view
    does, not with the later time of the data version."""
    alpha = small_landscape["projects"]["alpha"]
    # Older than any version: queryset.update() sends no signal, so the version stays.
    Project.objects.filter(pk=alpha.pk).update(updated=NOW)
    client = APIClient()
    first = client.get("/api/v1/projects/alpha/")
    assert first.status_code == 200
    assert first["Last-Modified"] == "Sun, 01 Jun 2025 00:00:00 GMT"
    assert client.get("/api/v1/projects/alpha/")["Last-Modified"] == first["Last-Modified"]
    for since, status in [
        (first["Last-Modified"], 304),
        ("Mon, 02 Jun 2025 00:00:00 GMT", 304),
        ("Sat, 31 May 2025 23:59:59 GMT", 200),
    ]:
        response = client.get("/api/v1/projects/alpha/", HTTP_IF_MODIFIED_SINCE=since)
        assert response.status_code == status, since


def test_validators_follow_the_query_the_audience_and_the_representation(actors):
    anonymous, staff = actors["anonymous"].client(), actors["staff"].client()
    etag = anonymous.get("/api/v1/projects/")["ETag"]
    assert anonymous.get("/api/v1/projects/?page_size=1")["ETag"] != etag
    staff_response = staff.get("/api/v1/projects/", HTTP_IF_NONE_MATCH=etag)
    assert staff_response.status_code == 200  # staff see more: never the public's 304
    assert staff_response["Cache-Control"] == "private, no-cache"
    html = anonymous.get("/api/v1/projects/", HTTP_ACCEPT="text/html", HTTP_IF_NONE_MATCH=etag)
    assert html.status_code == 200
    # An edit through the API changes the entry's validators.
    detail = anonymous.get("/api/v1/projects/alpha/")["ETag"]
    actors["maintainer"].client().patch(
        "/api/v1/projects/alpha/", {"description": "changed"}, format="json"
    )
    assert anonymous.get("/api/v1/projects/alpha/", HTTP_IF_NONE_MATCH=detail).status_code == 200


def test_anonymous_and_user_throttles(actors, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "3/minute", "user": "5/minute", "write": "2/minute"},
    }
    anonymous = actors["anonymous"].client()
    assert [anonymous.get("/api/v1/stats/").status_code for _ in range(4)] == [200] * 3 + [429]
    throttled = anonymous.get("/api/v1/projects/")
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0

    user = actors["other"].client()
    assert [user.get("/api/v1/stats/").status_code for _ in range(3)] == [200] * 3
    writes = [
        user.patch("/api/v1/projects/beta/", {"description": f"v{i}"}, format="json").status_code
        for i in range(3)
    ]
    assert writes == [200, 200, 429]  # the write scope, before the overall one
    # Each user has their own allowance.
    assert actors["maintainer"].client().get("/api/v1/stats/").status_code == 200


def test_cors_is_open_to_reads_only(small_landscape):
    client = Client()
    origin = "https://dashboard.example"
    read = client.get("/api/v1/projects/", HTTP_ORIGIN=origin)
    assert read["Access-Control-Allow-Origin"] == origin
    assert "ETag" in read["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Credentials" not in read

    preflight = client.options(
        "/api/v1/projects/",
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization",
    )
    assert preflight["Access-Control-Allow-Origin"] == origin
    assert preflight["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS"

    for method in ("POST", "PATCH", "DELETE"):
        preflight = client.options(
            "/api/v1/projects/alpha/",
            HTTP_ORIGIN=origin,
            HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        )
        assert "Access-Control-Allow-Origin" not in preflight, method
    write = client.post("/api/v1/projects/", {}, HTTP_ORIGIN=origin)
    assert "Access-Control-Allow-Origin" not in write
    # Not outside the API.
    assert "Access-Control-Allow-Origin" not in client.get("/admin/login/", HTTP_ORIGIN=origin)


def test_the_browsable_api_and_the_documentation_need_no_network(actors):
    client = Client()
    page = client.get("/api/v1/projects/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    assert b"Alpha" in page.content
    staff = Client()
    staff.force_login(actors["staff"].user)
    assert staff.get("/api/v1/projects/alpha/", HTTP_ACCEPT="text/html").status_code == 200
    for url in ("/api/docs/", "/api/redoc/"):
        page = client.get(url)
        assert page.status_code == 200
        body = page.content.decode()
        # Swagger UI from the sidecar's files, ReDoc's bundle through api.docs.
        assert "drf_spectacular_sidecar" in body or "/api/redoc/redoc.standalone.js" in body
        assert "https://" not in body
        assert "http://" not in body.replace("http://testserver", "")


def test_categories_tree_counts_and_stats(small_landscape):
    alpha, vision = small_landscape["projects"]["alpha"], small_landscape["categories"]
    SecondaryCategory.objects.create(project=alpha, category=vision["modeling-vision"])
    Finding.objects.create(
        project=alpha,
        kind="inactive",
        subject="a",
        evidence={"days": 400},
        first_seen=NOW,
        last_seen=NOW,
    )
    Finding.objects.create(
        project=small_landscape["projects"]["hidden"],
        kind="inactive",
        subject="h",
        evidence={},
        first_seen=NOW,
        last_seen=NOW,
    )
    client = APIClient()
    tree = client.get("/api/v1/categories/").json()
    assert [(c["slug"], c["count"]) for c in tree] == [("training", 2), ("modeling", 2)]
    assert [(c["slug"], c["count"]) for c in tree[1]["children"]] == [("modeling-vision", 2)]

    stats = client.get("/api/v1/stats/").json()
    assert stats["projects"] == 3
    assert stats["by_maturity"]["archived"] == 1
    assert stats["by_maturity"]["none"] == 2
    assert stats["by_health"]["unknown"] == 3
    assert stats["open_findings"] == {"total": 1, "by_kind": {"inactive": 1}}

    findings = client.get("/api/v1/findings/").json()
    assert [(f["project"], f["kind"]) for f in findings["results"]] == [("alpha", "inactive")]
    assert client.get("/api/v1/findings/", {"kind": "link_broken"}).json()["count"] == 0
    detail = client.get("/api/v1/projects/alpha/").json()
    assert [f["kind"] for f in detail["findings"]] == ["inactive"]
    assert [c["slug"] for c in detail["categories"]] == ["training-general", "modeling-vision"]


def test_a_project_as_json(actors, small_landscape):
    alpha = small_landscape["projects"]["alpha"]
    RepositoryStatus.objects.create(
        project=alpha,
        url="https://github.com/example/alpha",
        host="github.com",
        owner="example",
        name="alpha",
        stars=1200,
        forks=30,
        license="MIT",
        archived=False,
        pushed_at=NOW,
        checked_at=NOW,
        health="active",
    )
    Project.objects.filter(pk=alpha.pk).update(health="active")
    data = APIClient().get("/api/v1/projects/alpha/").json()
    assert set(data) >= {
        "slug",
        "name",
        "description",
        "homepage_url",
        "repo_url",
        "category",
        "categories",
        "maturity",
        "health",
        "repository",
        "findings",
        "maintainers",
        "logo_url",
        "badge_url",
        "created",
        "updated",
    }
    assert data["repository"]["stars"] == 1200
    assert data["repository"]["license"] == "MIT"
    assert data["health"] == "active"
    assert data["maturity"] is None
    assert data["maintainers"] == [{"name": "Maintainer", "role": "maintainer"}]
    assert data["badge_url"] == "http://testserver/badge/alpha.svg"
    assert data["html_url"] == "http://testserver/projects/alpha/"
    assert data["documentation_url"] is None
