"""Two entries with their own maintainers, staff, API tokens, and the objects hanging off an
entry (repository status, snapshot, finding, claim, change request, link status)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone

from api.services import token_create
from projects import moderation
from projects.models import (
    Category,
    ChangeRequest,
    Claim,
    Finding,
    LinkStatus,
    Project,
    RepositoryStatus,
    Snapshot,
)
from tests.reliability.conftest import static_root  # noqa: F401 - a shared fixture

User = get_user_model()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _api_throttles_high(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            "anon": "100000/minute",
            "user": "100000/minute",
            "write": "100000/minute",
        },
    }


@dataclass
class Actor:
    user: object
    key: str
    password: str

    @property
    def auth(self) -> dict:
        return {"HTTP_AUTHORIZATION": f"Token {self.key}"}


def _user(name: str, *, staff: bool = False) -> tuple[object, str]:
    password = f"pw-{name}-Long-Enough-42"
    user = User.objects.create_user(name, f"{name}@example.org", password, is_staff=staff)
    return user, password


@pytest.fixture
def world(db):
    pillar = Category.objects.create(name="Training", slug="training")
    sub = Category.objects.create(name="General", slug="training-general", parent=pillar)
    alpha = Project.objects.create(
        name="Alpha",
        slug="alpha",
        homepage_url="https://alpha.example/",
        repo_url="https://github.com/acme/alpha",
        category=sub,
        description="Alpha's own words.",
    )
    beta = Project.objects.create(
        name="Beta", slug="beta", homepage_url="https://beta.example/", category=sub
    )
    actors = {}
    for name, project in (("owner", alpha), ("other", beta)):
        user, password = _user(name)
        moderation._make_maintainer(user=user, project=project, verified=True)
        actors[name] = Actor(User.objects.get(pk=user.pk), token_create(user=user, name="t")[1],
                             password)  # fmt: skip
    staff, password = _user("staff", staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="moderate_project"))
    staff.is_superuser = True
    staff.save()
    actors["staff"] = Actor(staff, token_create(user=staff, name="t")[1], password)

    repo = RepositoryStatus.objects.create(
        project=alpha, url=alpha.repo_url, host="github.com", owner="acme", name="alpha"
    )
    now = timezone.now()
    related = {
        "repositorystatus": repo,
        "snapshot": Snapshot.objects.create(repository=repo, day=date.today(), health="active"),
        "finding": Finding.objects.create(
            project=alpha, kind="inactive", subject=alpha.repo_url, first_seen=now, last_seen=now
        ),
        "linkstatus": LinkStatus.objects.create(
            project=alpha, kind="homepage", url=alpha.homepage_url
        ),
        "claim": Claim.objects.create(user=actors["staff"].user, project=alpha, statement="mine"),
        "changerequest": ChangeRequest.objects.create(
            project=alpha, kind="change", changes={"name": "Alpha 2"}, submitted_by=None
        ),
        "maintainer": alpha.maintainers.get(),
        "project": alpha,
        "category": sub,
    }
    return {"alpha": alpha, "beta": beta, "actors": actors, "related": related}
