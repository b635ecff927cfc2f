"""Fixtures for the API tests: users of each kind with tokens, a small landscape, and
throttling out of the way (its own test turns it back on)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.test import APIClient

from api.services import token_create
from projects.models import Category, Maintainer, Project, Publication

HIGH_RATES = {"anon": "100000/minute", "user": "100000/minute", "write": "100000/minute"}


@pytest.fixture(autouse=True)
def _api_throttles_high(settings):
    """Throttle counters live in the cache (Redis in `make test`): start each test clean,
    with rates no test reaches unless it lowers them itself."""
    cache.clear()
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": HIGH_RATES}
    yield
    cache.clear()


@dataclass
class Actor:
    user: object | None
    key: str | None

    def client(self) -> APIClient:
        client = APIClient()
        if self.key:
            client.credentials(HTTP_AUTHORIZATION=f"Token {self.key}")
        return client


def make_user(username: str, *, staff: bool = False):
    """Staff review (the moderate permission). Maintainers get is_staff too, as approval
    gives them (it only opens the admin): the API must not take it for staff rights."""
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user(
        username=username,
        password=None,
        is_staff=True,
        first_name=username.title(),
    )
    if staff:
        user.user_permissions.add(Permission.objects.get(codename="moderate_project"))
    return get_user_model().objects.get(pk=user.pk)


@pytest.fixture
def small_landscape(db):
    """Two pillars, three subcategories, three published entries and a pending one."""
    training = Category.objects.create(name="Training", slug="training", position=0)
    modeling = Category.objects.create(name="Modeling", slug="modeling", position=1)
    general = Category.objects.create(
        name="General", slug="training-general", parent=training, position=0
    )
    distributed = Category.objects.create(
        name="Distributed", slug="training-distributed", parent=training, position=1
    )
    vision = Category.objects.create(name="Vision", slug="modeling-vision", parent=modeling)
    alpha = Project.objects.create(
        name="Alpha",
        slug="alpha",
        homepage_url="https://alpha.example",
        category=general,
        repo_url="https://github.com/example/alpha",
        description="Alpha trains models.",
    )
    beta = Project.objects.create(
        name="Beta",
        slug="beta",
        homepage_url="https://beta.example",
        category=distributed,
        maturity="archived",
    )
    gamma = Project.objects.create(
        name="Gamma", slug="gamma", homepage_url="https://gamma.example", category=vision
    )
    hidden = Project.objects.create(
        name="Hidden",
        slug="hidden",
        homepage_url="https://hidden.example",
        category=vision,
        publication=Publication.PENDING,
    )
    return {
        "categories": {c.slug: c for c in (training, modeling, general, distributed, vision)},
        "projects": {p.slug: p for p in (alpha, beta, gamma, hidden)},
    }


@pytest.fixture
def actors(small_landscape):
    """anonymous, another maintainer (of Beta), the maintainer (of Alpha), staff."""
    projects = small_landscape["projects"]
    result = {"anonymous": Actor(None, None)}
    for name, staff, maintains in (
        ("other", False, "beta"),
        ("maintainer", False, "alpha"),
        ("staff", True, None),
    ):
        user = make_user(name, staff=staff)
        if maintains:
            Maintainer.objects.create(user=user, project=projects[maintains])
        _, key = token_create(user=user, name="ci")
        result[name] = Actor(user, key)
    return result
