"""Issue 19: a repository listed twice under another spelling, and entry names that hide
characters or imitate an existing entry's."""

from __future__ import annotations

import json

import pytest

from projects.landscape_yml import LandscapeFormatError, parse_landscape
from projects.models import ChangeRequest, Project, Publication

pytestmark = pytest.mark.django_db

# The world's Alpha lists https://github.com/acme/alpha.
SAME_REPOSITORY = [
    "https://github.com/Acme/Alpha",
    "https://GITHUB.COM/acme/alpha",
    "https://www.github.com/acme/alpha",
    "https://github.com/acme/alpha.git",
    "https://github.com/acme/alpha/",
    "http://github.com/acme/alpha",
    "HTTP://WWW.GitHub.com/Acme/Alpha.git/",
]


def _new(**fields) -> dict:
    return {
        "name": "Gamma",
        "category": "training-general",
        "homepage_url": "https://gamma.example/",
        **fields,
    }


@pytest.mark.parametrize("repo_url", SAME_REPOSITORY)
@pytest.mark.parametrize("actor", ["staff", "other"])  # staff create, anyone else submits
def test_the_api_refuses_a_repository_already_listed(client, world, repo_url, actor):
    response = client.post(
        "/api/v1/projects/",
        json.dumps(_new(repo_url=repo_url)),
        content_type="application/json",
        **world["actors"][actor].auth,
    )
    assert response.status_code == 400, response.content
    message = response.json()["repo_url"][0]
    assert "'Alpha' (alpha) already lists this repository" in message
    assert not Project.objects.filter(name="Gamma").exists()


def test_the_api_refuses_a_maintainer_moving_to_a_repository_already_listed(client, world):
    response = client.patch(
        "/api/v1/projects/beta/",
        json.dumps({"repo_url": "https://www.GitHub.com/acme/alpha.git"}),
        content_type="application/json",
        **world["actors"]["other"].auth,
    )
    assert response.status_code == 400
    assert "'Alpha'" in response.json()["repo_url"][0]
    assert not ChangeRequest.objects.filter(project=world["beta"]).exists()


def test_the_api_still_takes_another_repository(client, world):
    response = client.post(
        "/api/v1/projects/",
        json.dumps(_new(repo_url="https://github.com/acme/alphabet")),
        content_type="application/json",
        **world["actors"]["other"].auth,
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("repo_url", SAME_REPOSITORY)
def test_submit_refuses_a_repository_already_listed(client, world, repo_url):
    client.force_login(world["actors"]["other"].user)
    response = client.post(
        "/submit/",
        {
            "name": "Gamma",
            "category": world["related"]["category"].pk,
            "homepage_url": "https://gamma.example/",
            "repo_url": repo_url,
        },
    )
    assert response.status_code == 200
    assert "already lists this repository" in response.content.decode()
    assert "Alpha" in response.content.decode()
    assert not Project.objects.filter(name="Gamma").exists()


def _admin_add(world, **changes) -> dict:
    data = {
        "name": "Gamma",
        "slug": "gamma",
        "description": "",
        "homepage_url": "https://gamma.example/",
        "repo_url": "",
        "repo_branch": "",
        "additional_repos": "[]",
        "documentation_url": "",
        "other_links": "[]",
        "tags": "[]",
        "category": world["related"]["category"].pk,
        "maturity": "",
        "organization": "",
        "twitter_url": "",
        "crunchbase_url": "",
        "landscape_extra": "{}",
        "position": 0,
        "publication": Publication.PUBLISHED,
        "secondarycategory_set-TOTAL_FORMS": "0",
        "secondarycategory_set-INITIAL_FORMS": "0",
        "maintainers-TOTAL_FORMS": "0",
        "maintainers-INITIAL_FORMS": "0",
        "alternatives_proposed-TOTAL_FORMS": "0",
        "alternatives_proposed-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize("repo_url", SAME_REPOSITORY)
def test_the_admin_refuses_adding_a_repository_already_listed(client, world, repo_url):
    client.force_login(world["actors"]["staff"].user)
    response = client.post("/admin/projects/project/add/", _admin_add(world, repo_url=repo_url))
    assert response.status_code == 200
    assert "already lists this repository" in response.content.decode()
    assert not Project.objects.filter(name="Gamma").exists()


def test_the_admin_stores_a_repository_url_in_its_normal_form(client, world):
    client.force_login(world["actors"]["staff"].user)
    response = client.post(
        "/admin/projects/project/add/",
        _admin_add(world, repo_url="https://GitHub.com/acme/gamma.git/"),
    )
    assert response.status_code == 302
    assert Project.objects.get(name="Gamma").repo_url == "https://github.com/acme/gamma"


# --- Names --------------------------------------------------------------------------------

HIDDEN = [
    "Py\u200btorch",  # zero-width space
    "Py\u200dtorch",  # zero-width joiner
    "\ufeffPytorch",  # byte order mark
    "Pytorch\u202e",  # right-to-left override
    "Py\x07torch",  # a control character
]


@pytest.mark.parametrize("name", HIDDEN)
def test_the_api_refuses_a_name_with_hidden_characters(client, world, name):
    response = client.post(
        "/api/v1/projects/",
        json.dumps(_new(name=name)),
        content_type="application/json",
        **world["actors"]["other"].auth,
    )
    assert response.status_code == 400
    assert "invisible or control character" in response.json()["name"][0]
    assert Project.objects.count() == 2


@pytest.mark.parametrize("name", HIDDEN[:2])
def test_submit_refuses_a_name_with_hidden_characters(client, world, name):
    client.force_login(world["actors"]["other"].user)
    response = client.post(
        "/submit/",
        {
            "name": name,
            "category": world["related"]["category"].pk,
            "homepage_url": "https://gamma.example/",
        },
    )
    assert response.status_code == 200
    assert "invisible or control character" in response.content.decode()
    assert Project.objects.count() == 2


def test_the_admin_refuses_a_name_with_hidden_characters(client, world):
    client.force_login(world["actors"]["staff"].user)
    response = client.post("/admin/projects/project/add/", _admin_add(world, name="Gam\u200bma"))
    assert response.status_code == 200
    assert "invisible or control character" in response.content.decode()
    assert Project.objects.count() == 2


def test_the_importer_refuses_a_name_with_hidden_characters():
    text = (
        "landscape:\n  - category:\n    name: C\n    subcategories:\n      - subcategory:\n"
        '        name: S\n        items:\n          - item:\n            name: "Py\\u200btorch"\n'
        "            homepage_url: https://x.example/\n"
    )
    with pytest.raises(LandscapeFormatError, match="U\\+200B"):
        parse_landscape(text)


def _submit_lookalike(client, world, name: str) -> Project:
    client.force_login(world["actors"]["other"].user)
    response = client.post(
        "/submit/",
        {
            "name": name,
            "category": world["related"]["category"].pk,
            "homepage_url": "https://gamma.example/",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    return Project.objects.get(name=name)


def test_a_lookalike_name_is_held_with_a_visible_warning(client, world):
    # Cyrillic А (U+0410) in place of the Latin A of the existing entry Alpha.
    project = _submit_lookalike(client, world, "\u0410lpha")
    assert project.publication == Publication.PENDING
    request = ChangeRequest.objects.get(project=project, kind="new")
    client.force_login(world["actors"]["staff"].user)

    page = client.get(f"/admin/projects/changerequest/{request.pk}/change/").content.decode()
    assert "looks like the existing entry &#x27;Alpha&#x27; (alpha)" in page
    assert "mixes CYRILLIC and LATIN letters" in page
    queue = client.get("/admin/projects/changerequest/").content.decode()
    assert "looks like the existing entry" in queue


def test_a_plain_name_carries_no_warning(client, world):
    project = _submit_lookalike(client, world, "Alphabet")
    request = ChangeRequest.objects.get(project=project, kind="new")
    client.force_login(world["actors"]["staff"].user)
    page = client.get(f"/admin/projects/changerequest/{request.pk}/change/").content.decode()
    assert "lookalike-warning" not in page
