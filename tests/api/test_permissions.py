"""Who may write what, with exact status codes, and who sees unpublished entries."""

from __future__ import annotations

import pytest
from django.test import Client

from projects.models import ChangeRequest, Maintainer, Project, Publication

pytestmark = pytest.mark.django_db

ACTORS = ("anonymous", "other", "maintainer", "staff")
NEW = {"name": "Delta", "homepage_url": "https://delta.example", "category": "modeling-vision"}

# write -> (method, path, body, {actor: status})
MATRIX = {
    "submit an entry": (
        "post",
        "/api/v1/projects/",
        NEW,
        {"anonymous": 401, "other": 201, "maintainer": 201, "staff": 201},
    ),
    "submit an entry with a maturity": (
        "post",
        "/api/v1/projects/",
        {**NEW, "maturity": "graduated"},
        {"anonymous": 401, "other": 403, "maintainer": 403, "staff": 201},
    ),
    "submit an invalid entry": (
        "post",
        "/api/v1/projects/",
        {"name": "", "homepage_url": "ftp://x", "category": "nope"},
        {"anonymous": 401, "other": 400, "maintainer": 400, "staff": 400},
    ),
    "change the description": (
        "patch",
        "/api/v1/projects/alpha/",
        {"description": "Now with more training."},
        {"anonymous": 401, "other": 403, "maintainer": 200, "staff": 200},
    ),
    "change every maintainer field": (
        "patch",
        "/api/v1/projects/alpha/",
        {
            "description": "d",
            "homepage_url": "https://alpha.example/new",
            "documentation_url": "https://docs.alpha.example",
            "other_links": [{"name": "blog", "url": "https://blog.alpha.example"}],
            "tags": ["training", "vision"],
            "twitter_url": "https://twitter.com/alpha",
        },
        {"anonymous": 401, "other": 403, "maintainer": 200, "staff": 200},
    ),
    # Moderated fields: a maintainer's change waits for review (202), staff's applies.
    "change the repository": (
        "patch",
        "/api/v1/projects/alpha/",
        {"repo_url": "https://github.com/Example/Alpha2.git"},
        {"anonymous": 401, "other": 403, "maintainer": 202, "staff": 200},
    ),
    "change the category": (
        "patch",
        "/api/v1/projects/alpha/",
        {"category": "modeling-vision"},
        {"anonymous": 401, "other": 403, "maintainer": 202, "staff": 200},
    ),
    "change the maturity": (
        "patch",
        "/api/v1/projects/alpha/",
        {"maturity": "graduated"},
        {"anonymous": 401, "other": 403, "maintainer": 403, "staff": 200},
    ),
    "change the publication": (
        "patch",
        "/api/v1/projects/alpha/",
        {"publication": "rejected"},
        {"anonymous": 401, "other": 403, "maintainer": 403, "staff": 200},
    ),
    "rename": (
        "patch",
        "/api/v1/projects/alpha/",
        {"name": "Alpha Prime"},
        {"anonymous": 401, "other": 403, "maintainer": 202, "staff": 200},
    ),
    "give invalid data": (
        "patch",
        "/api/v1/projects/alpha/",
        {"homepage_url": "not a url", "tags": "x"},
        {"anonymous": 401, "other": 403, "maintainer": 400, "staff": 400},
    ),
    "give a read-only field": (
        "patch",
        "/api/v1/projects/alpha/",
        {"health": "active"},
        {"anonymous": 401, "other": 403, "maintainer": 400, "staff": 400},
    ),
    "delete": (
        "delete",
        "/api/v1/projects/alpha/",
        None,
        {"anonymous": 401, "other": 403, "maintainer": 403, "staff": 204},
    ),
    "change a pending entry": (
        "patch",
        "/api/v1/projects/hidden/",
        {"description": "x"},
        {"anonymous": 401, "other": 404, "maintainer": 404, "staff": 200},
    ),
    "delete a pending entry": (
        "delete",
        "/api/v1/projects/hidden/",
        None,
        {"anonymous": 401, "other": 404, "maintainer": 404, "staff": 204},
    ),
}
CASES = [(write, actor) for write in MATRIX for actor in ACTORS]


def snapshot():
    return sorted(
        Project.objects.values_list(
            "slug",
            "name",
            "description",
            "homepage_url",
            "category__slug",
            "maturity",
            "publication",
        )
    )


@pytest.mark.parametrize(("write", "actor"), CASES, ids=[f"{w}-{a}" for w, a in CASES])
def test_permission_matrix(actors, write, actor):
    method, path, body, expected = MATRIX[write]
    before = snapshot()
    response = getattr(actors[actor].client(), method)(path, body, format="json")

    assert response.status_code == expected[actor], response.content
    if expected[actor] in (202, *range(400, 500)):
        assert snapshot() == before, "a refused write changed nothing"
    if expected[actor] == 401:
        assert response["WWW-Authenticate"] == "Token"
    if expected[actor] == 403 and actor != "other" and method == "patch":
        # Refused fields are named, with the reason.
        assert set(response.json()) == set(body)


def test_a_maintainers_change_is_saved_and_normalized(actors):
    body = MATRIX["change every maintainer field"][2]
    response = actors["maintainer"].client().patch("/api/v1/projects/alpha/", body, format="json")
    data = response.json()
    assert data["other_links"] == body["other_links"]
    assert data["tags"] == ["training", "vision"]
    alpha = Project.objects.get(slug="alpha")
    assert (alpha.description, alpha.twitter_url) == ("d", "https://twitter.com/alpha")
    assert alpha.category.slug == "training-general"  # untouched


def test_refusals_name_the_field_and_the_reason(actors):
    response = (
        actors["maintainer"]
        .client()
        .patch(
            "/api/v1/projects/alpha/",
            {"maturity": "graduated", "description": "x"},
            format="json",
        )
    )
    assert response.status_code == 403
    assert "curators" in response.json()["maturity"][0]
    assert Project.objects.get(slug="alpha").description == "Alpha trains models."


def test_a_maintainers_category_change_waits_while_the_rest_applies(actors):
    response = (
        actors["maintainer"]
        .client()
        .patch(
            "/api/v1/projects/alpha/",
            {
                "category": "modeling-vision",
                "repo_url": "https://GitHub.com/Example/Alpha2.git",
                "description": "now",
            },
            format="json",
        )
    )
    assert response.status_code == 202
    body = response.json()
    assert body["pending_change"]["fields"] == ["category", "repo_url"]
    assert body["project"]["description"] == "now"
    alpha = Project.objects.get(slug="alpha")
    assert (alpha.description, alpha.category.slug) == ("now", "training-general")
    change = ChangeRequest.objects.get(pk=body["pending_change"]["id"])
    assert change.changes == {
        "category": "modeling-vision",
        "repo_url": "https://github.com/Example/Alpha2",  # normalized
    }
    assert change.submitted_by == actors["maintainer"].user


def test_invalid_data_gets_a_message_per_field(actors):
    response = (
        actors["staff"]
        .client()
        .post(
            "/api/v1/projects/",
            {
                "name": "Alpha",
                "homepage_url": "javascript:alert(1)",
                "category": "training",
                "tags": ["x" * 51],
                "other_links": [{"name": "a"}],
                "bogus": 1,
            },
            format="json",
        )
    )
    assert response.status_code == 400
    assert set(response.json()) == {"bogus"}  # unknown fields are named first
    response = (
        actors["staff"]
        .client()
        .post(
            "/api/v1/projects/",
            {
                "name": "Alpha",
                "homepage_url": "javascript:alert(1)",
                "category": "training",
                "tags": ["x" * 51],
                "other_links": [{"name": "a"}],
                "repo_url": "https://GitHub.com/example/alpha/",
            },
            format="json",
        )
    )
    assert response.status_code == 400
    errors = response.json()
    # name taken, URL scheme, a pillar is not a subcategory, tag too long, link without url,
    # the repository (after normalization) already listed.
    assert set(errors) == {"name", "homepage_url", "category", "tags", "other_links", "repo_url"}


def test_a_submission_is_pending_and_visible_only_to_its_submitter_and_staff(actors):
    response = actors["other"].client().post("/api/v1/projects/", NEW, format="json")
    assert response.status_code == 201
    assert response["Location"] == "/api/v1/projects/delta/"
    assert response.json()["publication"] == "pending"
    delta = Project.objects.get(slug="delta")
    assert delta.publication == Publication.PENDING
    assert ChangeRequest.objects.get(project=delta, kind="new").submitted_by == actors["other"].user
    assert Maintainer.objects.get(project=delta).user == actors["other"].user

    def slugs(actor: str) -> set[str]:
        data = actors[actor].client().get("/api/v1/projects/").json()
        return {p["slug"] for p in data["results"]}

    assert "delta" not in slugs("anonymous")
    assert "delta" not in slugs("maintainer")
    assert "delta" in slugs("other")
    assert "delta" in slugs("staff")
    for actor, status in (("anonymous", 404), ("maintainer", 404), ("other", 200), ("staff", 200)):
        assert actors[actor].client().get("/api/v1/projects/delta/").status_code == status
    # ... and off every public read.
    anonymous = actors["anonymous"].client()
    assert b"Delta" not in anonymous.get("/api/v1/export/landscape.yml").content
    assert b"Delta" not in anonymous.get("/api/v1/export/projects.csv").content
    assert b"Delta" not in anonymous.get("/api/v1/export/projects.json").content
    assert anonymous.get("/api/v1/stats/").json()["projects"] == 3


def test_staff_see_every_entry_and_can_filter_on_publication(actors):
    client = actors["staff"].client()
    data = client.get("/api/v1/projects/", {"publication": "pending"}).json()
    assert [p["slug"] for p in data["results"]] == ["hidden"]
    # For the public the parameter narrows the published entries only.
    data = actors["anonymous"].client().get("/api/v1/projects/", {"publication": "pending"})
    assert data.json()["count"] == 0


def test_a_maintainer_sees_their_own_unpublished_entry(actors, small_landscape):
    Project.objects.filter(slug="alpha").update(publication=Publication.DRAFT)
    assert actors["maintainer"].client().get("/api/v1/projects/alpha/").status_code == 200
    assert actors["other"].client().get("/api/v1/projects/alpha/").status_code == 404
    assert actors["anonymous"].client().get("/api/v1/projects/alpha/").status_code == 404


def test_session_authentication_needs_the_csrf_token(actors):
    client = Client(enforce_csrf_checks=True)
    client.force_login(actors["maintainer"].user)
    url = "/api/v1/projects/alpha/"
    body = '{"description": "via the session"}'
    refused = client.patch(url, body, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]

    client.get("/api/v1/projects/", HTTP_ACCEPT="text/html")  # the browsable API sets the cookie
    token = client.cookies["csrftoken"].value
    accepted = client.patch(url, body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 200
    assert Project.objects.get(slug="alpha").description == "via the session"


def test_a_revoked_or_unknown_token_gets_401(actors):
    from api.models import ApiToken
    from api.services import token_revoke

    token = ApiToken.objects.get(user=actors["maintainer"].user)
    token_revoke(token=token, user=actors["maintainer"].user)
    response = (
        actors["maintainer"]
        .client()
        .patch("/api/v1/projects/alpha/", {"description": "x"}, format="json")
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    # A bad token fails even on reads, rather than quietly reading as anonymous.
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token plk_nope_nope")
    assert client.get("/api/v1/projects/").status_code == 401
