"""Every write path refuses a non-owner: the maintainer of another entry, in the API (every
write operation of the served OpenAPI schema) and in the admin (add, change, delete, history
and revert URLs of every registered model), and nothing changes in the database."""

from __future__ import annotations

import json

import pytest
from django.contrib import admin
from django.forms.models import model_to_dict
from drf_spectacular.generators import SchemaGenerator

from projects.models import Project

pytestmark = pytest.mark.django_db

WRITE_METHODS = ("post", "put", "patch", "delete")
REFUSED = (302, 403, 404)  # the admin's answers to "not yours": redirect, forbidden, unknown


def state(project: Project) -> dict:
    project.refresh_from_db()
    values = model_to_dict(project, exclude=["logo", "alternatives", "secondary_categories"])
    values["maintainers"] = sorted(project.maintainers.values_list("user_id", flat=True))
    return values


def api_writes() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        (path, method.upper())
        for path, operations in schema["paths"].items()
        for method in operations
        if method in WRITE_METHODS
    )


def test_the_api_has_write_operations_to_check():
    writes = api_writes()
    assert ("/api/v1/projects/{slug}/", "PATCH") in writes
    assert ("/api/v1/projects/{slug}/", "DELETE") in writes


@pytest.mark.parametrize("actor", ["anonymous", "other"])
def test_every_api_write_on_an_entry_refuses_a_non_owner(client, world, actor):
    alpha = world["alpha"]
    headers = world["actors"][actor].auth if actor != "anonymous" else {}
    before = state(alpha)
    payload = {
        "description": "taken over",
        "homepage_url": "https://evil.example/",
        "name": "Alpha",
        "category": "training-general",
    }
    tried = []
    for path, method in api_writes():
        url = path.replace("{slug}", alpha.slug)
        response = client.generic(
            method, url, json.dumps(payload), content_type="application/json", **headers
        )
        tried.append((method, url, response.status_code))
        if "{slug}" in path or actor == "anonymous":
            expected = (401,) if actor == "anonymous" else (403, 404)
            assert response.status_code in expected, (method, url, response.content[:300])
        else:
            # Submitting a new entry is open to any signed-in user; it must not touch Alpha
            # (same name: refused) nor publish anything.
            assert response.status_code in (400, 403), (method, url, response.content[:300])
        assert state(alpha) == before, (method, url)
    assert Project.objects.count() == 2
    assert len(tried) >= 3


def test_the_owner_may_write_through_the_same_path(client, world):
    """The control: the refusals above are about ownership, not a broken endpoint."""
    response = client.patch(
        "/api/v1/projects/alpha/",
        json.dumps({"description": "updated by its maintainer"}),
        content_type="application/json",
        **world["actors"]["owner"].auth,
    )
    assert response.status_code == 200, response.content
    assert Project.objects.get(slug="alpha").description == "updated by its maintainer"


def admin_targets(world) -> list[tuple[type, object | None]]:
    """Every registered model with an object that the "other" maintainer does not own."""
    staff = world["actors"]["staff"]
    instances = {
        **world["related"],
        "user": staff.user,
        "apitoken": staff.user.api_tokens.get(),
        "group": world["actors"]["other"].user.groups.get(),
    }
    return [
        (model, instances.get(model._meta.model_name))
        for model in admin.site._registry
        if model._meta.model_name != "historicalproject"
    ]


def row(model, obj) -> dict | None:
    return model._default_manager.filter(pk=obj.pk).values().first() if obj else None


def test_every_admin_url_refuses_the_maintainer_of_another_entry(client, world):
    client.force_login(world["actors"]["other"].user)
    bad = {"name": "pwned", "description": "pwned", "statement": "pwned", "post": "yes"}
    checked = 0
    for model, obj in admin_targets(world):
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        urls = [(base + "add/", None)]
        if obj is not None:
            urls += [
                (f"{base}{obj.pk}/change/", obj),
                (f"{base}{obj.pk}/delete/", obj),
                (f"{base}{obj.pk}/history/", obj),
            ]
            history = getattr(obj, "history", None)
            if history is not None and history.exists():
                urls.append((f"{base}{obj.pk}/history/{history.first().history_id}/", obj))
        for url, target in urls:
            count, before = model._default_manager.count(), row(model, target)
            got = client.get(url)
            posted = client.post(url, bad)
            assert got.status_code in REFUSED, (url, got.status_code)
            assert posted.status_code in REFUSED, (url, posted.status_code)
            assert (model._default_manager.count(), row(model, target)) == (count, before), url
            checked += 1
    assert checked >= 30


def test_the_admin_lists_only_their_own_entries_and_lets_them_edit_those(client, world):
    client.force_login(world["actors"]["other"].user)
    listing = client.get("/admin/projects/project/")
    assert listing.status_code == 200
    assert b"/admin/projects/project/%d/change/" % world["beta"].pk in listing.content
    assert b"/admin/projects/project/%d/change/" % world["alpha"].pk not in listing.content
    # The control: their own entry opens.
    assert client.get(f"/admin/projects/project/{world['beta'].pk}/change/").status_code == 200
