"""The API's reads build an entry with api.serializers.project_representation, not with
ProjectSerializer (the documented schema): the two must give exactly the same data, for
every entry of the fixture data, whoever asks, in any time zone, with or without a request.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command
from django.urls import NoReverseMatch
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from api.selectors import visible_projects
from api.serializers import (
    ProjectSerializer,
    project_representation,
    project_representations,
    project_representations_by_id,
    representations_from_rows,
)
from api.services import token_create
from api.views import LANDSCAPE_ORDER, with_project_relations
from projects.models import (
    Category,
    Finding,
    Health,
    Maintainer,
    Project,
    Publication,
    RepositoryStatus,
    SecondaryCategory,
)
from tests.api.conftest import Actor, make_user
from tests.conftest import FIXTURE_FILE

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 6, 1, 12, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture
def landscape():
    """fixtures/landscape.yml, plus what the import leaves out: repositories (full, partial,
    archived, secondary), findings (open and resolved), maintainers (named or not), logos
    (plain and unusual names), unpublished entries, and odd JSON in links and tags."""
    call_command("import_landscape", str(FIXTURE_FILE), stdout=StringIO(), stderr=StringIO())
    projects = list(Project.objects.order_by("pk"))
    assert len(projects) > 150
    named = make_user("ada")
    named.last_name = "Lovelace"
    named.save()
    unnamed = make_user("nameless")
    unnamed.first_name = ""
    unnamed.save()
    staff = make_user("staff", staff=True)
    healths = list(Health.values)
    for i, project in enumerate(projects):
        if i % 5 != 4:
            RepositoryStatus.objects.create(
                project=project,
                url=project.repo_url or f"https://github.com/example/r{i}",
                host="github.com",
                owner="example",
                name=f"r{i}",
                stars=None if i % 7 == 0 else i * 11,
                forks=None if i % 7 == 0 else i,
                open_issues=i % 9,
                pushed_at=None if i % 6 == 0 else NOW - timedelta(days=i, microseconds=i),
                last_release_at=NOW - timedelta(hours=i) if i % 3 else None,
                archived=[True, False, None][i % 3],
                license=["MIT", "", "Apache-2.0"][i % 3],
                health=healths[i % len(healths)],
                checked_at=None if i % 11 == 0 else NOW,
            )
        if i % 13 == 0:  # an additional repository: never shown
            RepositoryStatus.objects.create(
                project=project,
                is_primary=False,
                url=f"https://gitlab.com/example/extra{i}",
                host="gitlab.com",
                owner="example",
                name=f"extra{i}",
                stars=1,
            )
        if i % 4 == 0:
            for n, kind in enumerate((Finding.Kind.INACTIVE, Finding.Kind.LINK_BROKEN)[: i % 3]):
                Finding.objects.create(
                    project=project,
                    kind=kind,
                    subject=f"https://example.org/{i}/{n}",
                    evidence={"days": i, "nested": {"ü": [1, 2.5, None, True]}},
                    suggestion={} if n else {"maturity": "archived"},
                    first_seen=NOW - timedelta(days=30),
                    last_seen=NOW - timedelta(minutes=i + n),
                )
        if i % 6 == 0:
            Finding.objects.create(
                project=project,
                kind=Finding.Kind.USER_REPORT,
                subject="resolved",
                state=Finding.State.RESOLVED,
                evidence={},
                first_seen=NOW,
                last_seen=NOW,
                resolved_at=NOW,
            )
        if i % 8 == 0:
            Maintainer.objects.create(
                user=named, project=project, role=Maintainer.Role.OWNER, verified=True
            )
        if i % 10 == 0:
            Maintainer.objects.create(user=unnamed, project=project)
    # JSON that the write paths would refuse but the columns can hold.
    Project.objects.filter(pk=projects[1].pk).update(
        tags=["a", 2, None], other_links=[{"name": "Blog", "url": "https://b.example", "x": 1}]
    )
    Project.objects.filter(pk=projects[2].pk).update(other_links=[{"name": None, "url": 5}])
    Project.objects.filter(pk=projects[3].pk).update(logo="logos/plain-name_1.svg")
    Project.objects.filter(pk=projects[4].pk).update(logo="logos/café logo (v2).png")
    Project.objects.filter(pk=projects[5].pk).update(
        twitter_url="https://twitter.com/x", documentation_url="", maturity="graduated"
    )
    # Unpublished entries: seen by staff, and by their maintainer only.
    Project.objects.filter(pk__in=[p.pk for p in projects[-6:]]).update(
        publication=Publication.PENDING
    )
    Project.objects.filter(pk=projects[-1].pk).update(publication=Publication.DRAFT)
    maintainer = make_user("maintainer")
    Maintainer.objects.create(user=maintainer, project=projects[-2])
    Maintainer.objects.create(user=maintainer, project=projects[7])
    # A second_path in a pillar (no parent) as well as the fixture's own.
    pillar = Category.objects.filter(parent__isnull=True).first()
    SecondaryCategory.objects.get_or_create(project=projects[8], category=pillar)
    return {
        "anonymous": AnonymousUser(),
        "staff": staff,
        "maintainer": maintainer,
        "keys": {
            "staff": token_create(user=staff, name="t")[1],
            "maintainer": token_create(user=maintainer, name="t")[1],
        },
    }


def _request(user, path="/api/v1/projects/"):
    request = Request(APIRequestFactory().get(path))
    request.user = user
    return request


def _entries(user):
    return list(with_project_relations(visible_projects(user).order_by(*LANDSCAPE_ORDER)))


def assert_same(fast, slow):
    assert fast == slow
    # The same key order too: the bytes the JSON renderer writes are identical.
    assert JSONRenderer().render(fast) == JSONRenderer().render(slow)


@pytest.mark.parametrize("who", ["anonymous", "staff", "maintainer"])
@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata"])
def test_every_entry_is_represented_exactly_as_the_serializer_does(landscape, who, zone):
    user = landscape[who]
    request = _request(user)
    with timezone.override(zone):
        entries = _entries(user)
        assert entries
        slow = ProjectSerializer(entries, many=True, context={"request": request}).data
        fast = project_representations(entries, request=request)
        assert len(fast) == len(slow) == len(entries)
        for entry, fast_one, slow_one in zip(entries, fast, slow, strict=True):
            assert_same(fast_one, slow_one)
            assert_same(project_representation(entry, request=request), slow_one)
        # Without a request (relative URLs), as the serializer gives them.
        assert_same(
            project_representations(entries),
            list(ProjectSerializer(entries, many=True).data),
        )
    if who == "anonymous":
        assert {e.publication for e in entries} == {Publication.PUBLISHED}
    else:
        assert Publication.PENDING in {e.publication for e in entries}


@pytest.mark.parametrize("who", ["anonymous", "staff"])
def test_entries_read_in_one_query_are_represented_exactly_as_the_serializer_does(
    landscape, who, django_assert_num_queries
):
    user = landscape[who]
    request = _request(user)
    entries = _entries(user)
    assert representations_from_rows()
    slow = ProjectSerializer(entries, many=True, context={"request": request}).data
    ids = [e.pk for e in entries]
    with django_assert_num_queries(1):
        fast = project_representations_by_id(ids, request=request)
    assert len(fast) == len(slow)
    for fast_one, slow_one in zip(fast, slow, strict=True):
        assert_same(fast_one, slow_one)
    assert_same(
        project_representations_by_id(ids), list(ProjectSerializer(entries, many=True).data)
    )
    # In the order asked, and an id that is gone is left out.
    shuffled = [*ids[::-1][:5], 10**9]
    assert [r["slug"] for r in project_representations_by_id(shuffled)] == [
        e.slug for e in entries[::-1][:5]
    ]


def test_rows_are_used_only_where_the_database_formats_dates_as_drf_would(landscape):
    with timezone.override("Asia/Kolkata"):
        assert not representations_from_rows()
        # ...and the list still answers what the serializer gives, from model instances.
        client = Actor(None, None).client()
        page = client.get("/api/v1/projects/?page_size=5").json()["results"]
        request = _request(AnonymousUser())
        expected = ProjectSerializer(
            _entries(AnonymousUser())[:5], many=True, context={"request": request}
        ).data
        assert page == list(expected)


def test_entries_without_prefetches_are_represented_alike(landscape):
    request = _request(landscape["staff"])
    for entry in Project.objects.order_by("pk")[:40]:
        assert_same(
            project_representation(entry, request=request),
            ProjectSerializer(entry, context={"request": request}).data,
        )


def test_a_slug_no_url_can_carry_fails_alike(landscape):
    entry = _entries(AnonymousUser())[0]
    entry.slug = "odd.slug/with slash"
    request = _request(AnonymousUser())
    with pytest.raises(NoReverseMatch):
        ProjectSerializer(entry, context={"request": request}).data  # noqa: B018
    with pytest.raises(NoReverseMatch):
        project_representation(entry, request=request)


@pytest.mark.parametrize("who", ["anonymous", "staff", "maintainer"])
def test_the_api_reads_answer_the_serializer_output(landscape, who):
    """Through the views: every page of the list, and a few entries' own reads."""
    key = landscape["keys"].get(who)
    client = Actor(None, key).client()
    user = landscape[who]
    expected = {
        e.slug: ProjectSerializer(e, context={"request": _request(user)}).data
        for e in _entries(user)
    }
    seen = []
    url = "/api/v1/projects/?page_size=100"
    while url:
        response = client.get(url)
        assert response.status_code == 200
        page = response.json()
        for item in page["results"]:
            assert item == expected[item["slug"]]
            seen.append(item["slug"])
        url = page["next"]
    assert seen == list(expected)
    for slug in [*list(expected)[:3], *list(expected)[-3:]]:
        response = client.get(f"/api/v1/projects/{slug}/")
        assert response.status_code == 200
        assert response.json() == expected[slug]


def test_a_by_stars_page_is_read_by_id_and_answers_the_serializer_output(
    landscape, django_assert_max_num_queries, settings
):
    # The serializer's path (pages from stored bodies: tests/api/test_public_list.py).
    settings.API_LIST_STORED_BODIES = False
    user = AnonymousUser()
    expected = {
        e.slug: ProjectSerializer(e, context={"request": _request(user)}).data
        for e in _entries(user)
    }
    client = Actor(None, None).client()
    url = "/api/v1/projects/?ordering=-stars&page_size=60&health=active&health=inactive"
    # The count (FacetCount), the page's ids (Listing), its entries (one function call).
    with django_assert_max_num_queries(3):
        page = client.get(url).json()
    assert page["count"] > 60
    stars = [
        item["repository"]["stars"] if item["repository"] else None for item in page["results"]
    ]
    known = [s for s in stars if s is not None]
    assert known == sorted(known, reverse=True)
    for item in page["results"]:
        assert item == expected[item["slug"]]
