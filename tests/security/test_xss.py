"""Every text field rendered escaped: an XSS payload in each field of an entry shows as text
on the entry's page, the landscape page, the other pages that show entries, the API (JSON,
and the browsable HTML) and the admin."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from projects.models import Category, Finding, Project, RepositoryStatus

pytestmark = pytest.mark.django_db


def payload(field: str) -> str:
    # Closes an attribute and a tag, then opens a script and an element with a handler.
    return f'"\'><script>alert("xss-{field}")</script><img src=x onerror=alert("xss-{field}")>'


RAW_MARKERS = ('<script>alert("xss-', "<img src=x onerror")
TEXT_FIELDS = ("name", "description", "organization")


@pytest.fixture
def hostile(world):
    pillar = Category.objects.create(name=payload("pillar"), slug="hostile-pillar")
    sub = Category.objects.create(name=payload("subcategory"), slug="hostile-sub", parent=pillar)
    project = Project.objects.create(
        slug="hostile",
        name=payload("name"),
        description=payload("description"),
        organization=payload("organization"),
        homepage_url='https://hostile.example/?q="><script>alert("xss-homepage")</script>',
        documentation_url="https://docs.hostile.example/?q=<img src=x onerror=alert(1)>",
        repo_url="https://github.com/acme/hostile",
        category=sub,
        tags=[payload("tag")],
        other_links=[{"name": payload("link"), "url": "https://hostile.example/other"}],
    )
    repo = RepositoryStatus.objects.create(
        project=project,
        url=project.repo_url,
        host="github.com",
        owner="acme",
        name="hostile",
        description=payload("repo-description"),
        license=payload("license")[:100],
        health="active",
        health_evidence={"words": [payload("evidence")]},
        checked_at=timezone.now(),
    )
    now = timezone.now()
    Finding.objects.create(
        project=project,
        kind="inactive",
        subject=repo.url,
        evidence={"words": [payload("finding")]},
        first_seen=now,
        last_seen=now,
    )
    return project


def assert_escaped(url: str, html: str) -> None:
    for marker in RAW_MARKERS:
        assert marker not in html, f"{url} renders {marker!r} unescaped"


def test_pages_show_the_payloads_as_text(client, hostile):
    pages = {
        f"/projects/{hostile.slug}/": ("name", "description"),
        "/": ("name",),
        "/?q=alert": (),
        "/stats/": (),
        "/embed/hostile-sub/": ("name",),
        f"/badge/{hostile.slug}.svg": (),
        "/feed.atom": (),
    }
    for url, shown in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert_escaped(url, html)
        for field in shown:
            # Shown, as text: the escaped form is there.
            assert f"&lt;script&gt;alert(&quot;xss-{field}&quot;)" in html, (url, field)


def test_the_api_returns_the_payloads_as_json_data(client, hostile):
    response = client.get(f"/api/v1/projects/{hostile.slug}/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    data = json.loads(response.content)
    assert {"name", "description"} <= set(data)
    for field in TEXT_FIELDS:
        if field in data:
            assert data[field] == payload(field)  # the data, unchanged: escaping is the reader's
    browsable = client.get(f"/api/v1/projects/{hostile.slug}/", HTTP_ACCEPT="text/html")
    if browsable["Content-Type"].startswith("text/html"):
        assert_escaped("browsable API", browsable.content.decode())
    for url in ("/api/v1/projects/", "/api/v1/findings/", "/api/v1/categories/"):
        listing = client.get(url, HTTP_ACCEPT="text/html")
        if listing["Content-Type"].startswith("text/html"):
            assert_escaped(url, listing.content.decode())


def test_the_admin_shows_the_payloads_as_text(client, world, hostile):
    client.force_login(world["actors"]["staff"].user)
    urls = [
        "/admin/projects/project/",
        f"/admin/projects/project/{hostile.pk}/change/",
        f"/admin/projects/project/{hostile.pk}/history/",
        "/admin/projects/finding/",
        "/admin/projects/category/",
        "/admin/projects/repositorystatus/",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_escaped(url, response.content.decode())
    change = client.get(f"/admin/projects/project/{hostile.pk}/change/").content.decode()
    assert "&lt;script&gt;alert(&quot;xss-description&quot;)" in change
