"""Issue 19: a visitor's Host and X-Forwarded-Proto never reach an answer, kept or not.

Every absolute link starts with SITE_URL (landscape.site). Anonymous reads without cookies
are kept whole and given to the next visitor (projects.web.kept, with the worker's own
copy on: projects.web.near), the public list by stars is written from stored bodies
(api.public_list): a hostile read first, then a plain one, must both carry SITE_URL only.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from projects.models import Project, RepositoryStatus

pytestmark = pytest.mark.django_db

SITE = "https://landscape.example/dir"
HOSTILE = {"HTTP_HOST": "localhost:1", "HTTP_X_FORWARDED_PROTO": "https"}
OTHER_SCHEME = {"HTTP_X_FORWARDED_PROTO": "https"}  # the usual Host, another scheme

PATHS = [
    "/api/v1/projects/?page_size=1",
    "/api/v1/projects/?ordering=-stars&page_size=1",  # from the stored bodies
    "/api/v1/projects/?ordering=name&page_size=1",  # next carries a seek token
    "/api/v1/projects/alpha/",
    "/api/v1/export/projects.json",
    "/api/v1/",
    "/",
    "/projects/alpha/",
    "/feed.atom",
]


@pytest.fixture
def site(settings, small_landscape):
    settings.SITE_URL = SITE
    settings.ALLOWED_HOSTS = ["testserver", "localhost"]
    settings.NEAR_CACHE_RECHECK = 3600  # the worker's own copy answers every later read
    alpha = small_landscape["projects"]["alpha"]
    for stars, project in enumerate(small_landscape["projects"].values()):
        RepositoryStatus.objects.create(
            project=project,
            url=f"https://github.com/example/{project.slug}",
            host="github.com",
            owner="example",
            name=project.slug,
            stars=stars * 10,
            is_primary=True,
        )
    Project.objects.filter(pk=alpha.pk).update(logo="logos/alpha.svg")
    Project.objects.get(pk=alpha.pk).save()  # a signal: the data version moves
    return small_landscape


def _links(response) -> dict:
    data = response.json()
    if isinstance(data, dict) and "results" in data:
        return {"next": data["next"], **{k: data["results"][0][k] for k in _FIELDS}}
    if isinstance(data, list):
        data = next(item for item in data if item["slug"] == "alpha")
    if "slug" in data:
        return {k: data[k] for k in _FIELDS}
    return data  # the API's root: a link per list


_FIELDS = ("url", "html_url", "logo_url", "badge_url")


@pytest.mark.parametrize("hostile", [HOSTILE, OTHER_SCHEME], ids=["host", "scheme"])
@pytest.mark.parametrize("path", PATHS)
def test_a_hostile_read_reaches_no_answer(site, path, hostile):
    attacker, visitor = APIClient(), APIClient()
    first = [attacker.get(path, **hostile) for _ in range(2)]  # the second: a kept answer
    later = visitor.get(path)
    for response in [*first, later]:
        assert response.status_code == 200, response.content[:300]
        assert b"localhost:1" not in response.content
        assert b"https://testserver" not in response.content
    assert later.content == first[0].content
    assert later.get("ETag") == first[0].get("ETag")
    if path.startswith("/api/"):
        links = _links(later)
        assert links and all(v is None or v.startswith(SITE + "/") for v in links.values())
        assert any(v is not None for v in links.values())
    if path == "/feed.atom":
        assert f'href="{SITE}/projects/alpha/"'.encode() in later.content
    if path == "/projects/alpha/":
        assert f"{SITE}/badge/alpha.svg".encode() in later.content


def test_every_link_of_a_list_page_starts_with_site_url(site):
    response = APIClient().get("/api/v1/projects/?ordering=-stars&page_size=1&page=2", **HOSTILE)
    data = response.json()
    assert data["next"].startswith(f"{SITE}/api/v1/projects/?")
    assert "ordering=-stars&page=3&page_size=1" in data["next"]
    assert data["previous"] == f"{SITE}/api/v1/projects/?ordering=-stars&page_size=1"
    item = data["results"][0]
    assert item["url"] == f"{SITE}/api/v1/projects/{item['slug']}/"
    alpha = APIClient().get("/api/v1/projects/alpha/", **HOSTILE).json()
    assert alpha["logo_url"] == f"{SITE}/media/logos/alpha.svg"
    assert alpha["badge_url"] == f"{SITE}/badge/alpha.svg"
    assert alpha["html_url"] == f"{SITE}/projects/alpha/"


@pytest.mark.parametrize("path", ["/api/v1/projects/?page_size=1", "/api/v1/categories/"])
@pytest.mark.parametrize("html_first", [True, False])
def test_the_browsable_api_and_json_keep_apart(site, path, html_first):
    reads = [("text/html", HOSTILE), ("application/json", {})]
    if not html_first:
        reads.reverse()
    answers = {}
    for _round in range(2):  # the second round: the kept answers
        for accept, headers in reads:
            response = APIClient().get(path, HTTP_ACCEPT=accept, **headers)
            assert response.status_code == 200
            assert response["Content-Type"].startswith(accept)
            assert b"localhost:1" not in response.content
            assert "Accept" in response["Vary"]
            answers.setdefault(accept, []).append(response)
    # The page's form carries a CSRF token of its own: only the ETag says it is the same.
    html_etags = {response["ETag"] for response in answers["text/html"]}
    json_bodies = {(response.content, response["ETag"]) for response in answers["application/json"]}
    assert len(html_etags) == 1 and len(json_bodies) == 1
    (json_body, json_etag), html_etag = next(iter(json_bodies)), next(iter(html_etags))
    assert html_etag != json_etag
    assert json_body.startswith((b"{", b"["))
    assert all(b"<html" in response.content for response in answers["text/html"])


def test_the_etag_moves_with_site_url(site, settings):
    for path in ("/api/v1/projects/?page_size=1", "/api/v1/projects/alpha/"):
        before = APIClient().get(path)
        settings.SITE_URL = "https://elsewhere.example"
        after = APIClient().get(path)
        settings.SITE_URL = SITE
        assert before["ETag"] != after["ETag"]
        assert b"https://elsewhere.example/" in after.content
        assert b"elsewhere" not in before.content
