"""The public's list pages by stars come from bodies PostgreSQL triggers store
(api/entry_body_sql.py, api.public_list): each answer must be the serializer's, byte for
byte and header for header, and every write to anything an entry shows must rewrite its
body in the same transaction."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.renderers import JSONRenderer

from api.entry_body_sql import ORIGIN
from api.models import EntryBody
from api.public_list import _origin
from api.serializers import ProjectSerializer
from projects.models import (
    Category,
    Finding,
    Health,
    Maintainer,
    Project,
    RepositoryStatus,
    SecondaryCategory,
)
from tests.api.conftest import Actor, make_user
from tests.api.test_representation import NOW, _request, landscape  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db

STORED = "api_public_page"  # the statement a page from stored bodies runs


def _client(*, cookie: bool = True):
    client = Actor(None, None).client()
    if cookie:
        # With a cookie the read reaches DRF (ProjectViewSet.list); without one it is
        # answered before the session middleware (projects.web.kept). Either way the
        # visitor is anonymous.
        client.cookies["seen"] = "1"
    return client


def _read(client, path: str, **headers):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, **headers)
    stored = any(STORED in q["sql"] for q in queries.captured_queries)
    return response, stored


def _headers(response) -> dict:
    return {k: v for k, v in response.items() if k != "Date"}


def _both(settings, path: str, **headers):
    """The answer from stored bodies (read with a cookie, through DRF, and without one,
    before it), checked to be the same, and the serializer's own for the same read."""
    settings.API_LIST_STORED_BODIES = True
    before_drf, stored_before = _read(_client(cookie=False), path, **headers)
    fast, stored = _read(_client(), path, **headers)
    assert stored_before == stored
    _assert_same(before_drf, fast)
    settings.API_LIST_STORED_BODIES = False
    slow, used = _read(_client(), path, **headers)
    assert not used
    return fast, slow, stored


def _assert_same(fast, slow):
    assert fast.status_code == slow.status_code
    assert fast.content == slow.content
    assert _headers(fast) == _headers(slow)


PAGES = [
    "?ordering=-stars",
    "?ordering=-stars&page=2",
    "?ordering=-stars&page_size=7&page=3",
    "?ordering=-stars&page_size=200",
    "?ordering=-stars&page_size=1&page=5",
    "?ordering=-stars&health=active",
    "?ordering=-stars&health=active,inactive&page_size=10&page=2",
    "?ordering=-stars&health=unknown&health=archived",
    "?ordering=-stars&health=active&health=active&page_size=5",  # the same value twice
    "?ordering=-stars&health=+active+,+inactive",
    "?health=inactive&ordering=-stars&page_size=3",
]


@pytest.mark.parametrize("query", PAGES)
def test_a_page_from_stored_bodies_is_the_serializers_answer(landscape, settings, query):  # noqa: F811
    categories = ["", *Category.objects.order_by("pk").values_list("slug", flat=True)[:6]]
    served = 0
    for slug in categories:
        path = "/api/v1/projects/" + query + (f"&category={slug}" if slug else "")
        fast, slow, stored = _both(settings, path)
        _assert_same(fast, slow)
        assert stored
        if fast.status_code == 200:
            served += 1
            assert fast["ETag"] and fast["Content-Type"] == "application/json"
    assert served


def test_every_public_entry_is_served_from_its_body_alike(landscape, settings):  # noqa: F811
    """Page by page through the whole list: entries whose body is not plain (a logo path a
    URL escapes, tags that are not strings, links the serializer rewrites) are served by
    the serializer, the others from their bodies; the pages are the same either way."""
    plain = dict(EntryBody.objects.values_list("project_id", "plain"))
    assert False in plain.values() and True in plain.values()
    url, pages = "/api/v1/projects/?ordering=-stars&page_size=25", 0
    stored_pages = 0
    while url:
        fast, slow, stored = _both(settings, url)
        _assert_same(fast, slow)
        stored_pages += stored and fast.status_code == 200
        url = fast.json()["next"]
        pages += 1
    assert pages > 5 and stored_pages == pages


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("?ordering=-stars&category=no-such-category", 400),
        ("?ordering=-stars&category=", 200),
        ("?ordering=-stars&category=a&category=b", 400),
        ("?ordering=-stars&health=bogus", 400),
        ("?ordering=-stars&health=", 200),
        ("?ordering=-stars&health=active,", 200),
        ("?ordering=-stars&page=0", 404),
        ("?ordering=-stars&page=abc", 404),
        ("?ordering=-stars&page=999", 404),
        ("?ordering=-stars&page=last", 200),
        ("?ordering=-stars&page=", 200),
        ("?ordering=-stars&page_size=0", 200),
        ("?ordering=-stars&page_size=500", 200),
        ("?ordering=-stars&page_size=-3", 200),
        ("?ordering=-stars&page=2&page=3", 200),
        ("?ordering=-stars&q=vision", 200),
        ("?ordering=-stars&maturity=graduated", 200),
        ("?ordering=-stars&format=json", 200),
        ("?ordering=stars", 200),
        ("?ordering=-stars&ordering=name", 200),
        ("?ordering=-name", 200),
        ("", 200),
    ],
)
def test_what_stored_bodies_do_not_answer_is_the_serializers_answer(
    landscape,  # noqa: F811
    settings,
    path,
    status,
):
    fast, slow, _stored = _both(settings, "/api/v1/projects/" + path)
    _assert_same(fast, slow)
    assert fast.status_code == status, fast.content[:300]


def test_other_media_types_and_signed_in_readers_go_through_the_serializer(landscape, settings):  # noqa: F811
    path = "/api/v1/projects/?ordering=-stars&page_size=5"
    for accept in ("application/json; indent=2", "application/yaml"):
        fast, slow, stored = _both(settings, path, HTTP_ACCEPT=accept)
        assert not stored
        _assert_same(fast, slow)
    # The browsable API (its form carries a fresh CSRF token each time).
    for cookie in (False, True):
        page, stored = _read(_client(cookie=cookie), path, HTTP_ACCEPT="text/html")
        assert not stored and page.status_code == 200 and b"<html" in page.content
    staff = Actor(landscape["staff"], landscape["keys"]["staff"]).client()
    settings.API_LIST_STORED_BODIES = True
    response, stored = _read(staff, "/api/v1/projects/?ordering=-stars&page_size=200")
    assert not stored
    assert "pending" in {item["publication"] for item in response.json()["results"]}


@pytest.mark.parametrize("cookie", [True, False])
def test_a_conditional_read_answers_304_before_any_page_is_read(landscape, settings, cookie):  # noqa: F811
    client = _client(cookie=cookie)
    path = "/api/v1/projects/?ordering=-stars&health=active"
    first, stored = _read(client, path)
    assert stored and first.status_code == 200
    again, stored = _read(client, path, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and not stored


def test_answers_before_the_stack_count_against_the_anonymous_throttle(landscape, settings):  # noqa: F811
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "3/minute", "user": "5/minute", "write": "2/minute"},
    }
    client = _client(cookie=False)
    answers = [_read(client, f"/api/v1/projects/?ordering=-stars&page={n}") for n in (1, 2, 3, 4)]
    assert [r.status_code for r, _ in answers] == [200, 200, 200, 429]
    assert all(stored for _, stored in answers[:3])
    assert "Retry-After" in answers[3][0]


def test_only_the_list_route_answers_before_the_stack():
    from api.urls import router

    routes = {
        route.name: route.callback
        for route in router.urls
        if getattr(route, "name", None) in ("project-list", "project-detail")
    }
    assert hasattr(routes["project-list"], "answers_anonymous_reads")
    assert not hasattr(routes["project-detail"], "answers_anonymous_reads")


@pytest.mark.parametrize("cookie", [True, False])
def test_urls_start_with_site_url_whatever_the_host(landscape, settings, cookie):  # noqa: F811
    settings.SITE_URL = "https://landscape.example/"
    settings.ALLOWED_HOSTS = ["testserver", "other.example"]
    client = _client(cookie=cookie)
    for headers in ({}, {"HTTP_HOST": "other.example", "HTTP_X_FORWARDED_PROTO": "https"}):
        response, stored = _read(client, "/api/v1/projects/?ordering=-stars", **headers)
        assert stored or not cookie  # without one, the second read is the answer kept
        item = response.json()["results"][0]
        assert item["url"] == f"https://landscape.example/api/v1/projects/{item['slug']}/"
        assert item["html_url"].startswith("https://landscape.example/projects/")
        assert item["badge_url"].startswith("https://landscape.example/badge/")
        assert response.json()["next"].startswith("https://landscape.example/api/v1/projects/?")
        assert b"other.example" not in response.content


@pytest.mark.parametrize("media_url", ["/uploads/", "https://cdn.example/media/"])
def test_urls_unlike_those_the_bodies_were_written_with_are_not_served_from_them(
    landscape,  # noqa: F811
    settings,
    media_url,
):
    settings.MEDIA_URL = media_url
    fast, slow, stored = _both(settings, "/api/v1/projects/?ordering=-stars&page_size=200")
    _assert_same(fast, slow)
    assert not stored
    logos = [item["logo_url"] for item in fast.json()["results"] if item["logo_url"]]
    assert logos and all(media_url in logo for logo in logos)


def test_without_the_setting_no_page_is_read_from_bodies(landscape, settings):  # noqa: F811
    settings.API_LIST_STORED_BODIES = False
    _response, stored = _read(_client(), "/api/v1/projects/?ordering=-stars")
    assert not stored


# --- The triggers keep every body current --------------------------------------------------


def _assert_bodies_current():
    """Every entry's stored body, its origin filled in for a request, is the serializer's
    JSON for it, byte for byte, wherever it is plain (the others are never read), and no
    entry is without one."""
    request = _request(AnonymousUser())
    origin = _origin(request)
    assert origin == b"http://testserver"
    bodies = dict(EntryBody.objects.values_list("project_id", "body"))
    plain = dict(EntryBody.objects.values_list("project_id", "plain"))
    from api.views import with_project_relations

    entries = list(with_project_relations(Project.objects.order_by("pk")))
    assert set(bodies) == {e.pk for e in entries}
    for entry in entries:
        expected = JSONRenderer().render(
            ProjectSerializer(entry, context={"request": request}).data
        )
        body = bodies[entry.pk].encode().replace(ORIGIN, origin)
        if not plain[entry.pk]:
            continue  # served by the serializer (the body is never read)
        assert body == expected, entry.slug


def test_the_bodies_are_current_after_the_import(landscape):  # noqa: F811
    _assert_bodies_current()


def test_every_write_to_what_an_entry_shows_rewrites_its_body(landscape):  # noqa: F811
    entries = list(Project.objects.order_by("pk")[:12])
    a, b, c = entries[0], entries[1], entries[2]
    writes = [
        lambda: Project.objects.filter(pk=a.pk).update(description='Now with \u2028 and "q"'),
        lambda: Project.objects.filter(pk=b.pk).update(name="Renamed ü", slug="renamed-u"),
        lambda: Project.objects.filter(pk=c.pk).update(
            tags=["x", "y"], other_links=[{"name": "Docs", "url": "https://d.example"}]
        ),
        lambda: Project.objects.filter(pk=a.pk).update(logo="logos/a.svg", maturity="archived"),
        lambda: Project.objects.filter(pk=a.pk).update(health=Health.INACTIVE),
        lambda: RepositoryStatus.objects.filter(project=entries[3]).update(
            stars=12345, archived=True, pushed_at=NOW + timedelta(microseconds=7)
        ),
        lambda: RepositoryStatus.objects.create(
            project=entries[4],
            url="https://github.com/x/y",
            host="github.com",
            owner="x",
            name="y",
            stars=3,
        ),
        lambda: RepositoryStatus.objects.filter(project=entries[5]).delete(),
        lambda: Finding.objects.create(
            project=entries[6],
            kind=Finding.Kind.INACTIVE,
            subject="s",
            evidence={"b": [1, {"c": None}], "a": "é\n"},
            first_seen=NOW,
            last_seen=NOW,
        ),
        lambda: Finding.objects.filter(project=entries[6]).update(state=Finding.State.RESOLVED),
        lambda: Maintainer.objects.create(user=make_user("newcomer"), project=entries[7]),
        lambda: (
            type(landscape["staff"])
            .objects.filter(username="newcomer")
            .update(first_name="Grace", last_name="Hopper")
        ),
        lambda: Maintainer.objects.filter(project=entries[7]).delete(),
        lambda: SecondaryCategory.objects.create(
            project=entries[8],
            category=Category.objects.exclude(pk=entries[8].category_id)
            .filter(parent__isnull=False)
            .first(),
        ),
        lambda: SecondaryCategory.objects.filter(project=entries[8]).delete(),
        lambda: Category.objects.filter(pk=entries[9].category_id).update(
            name="Renamed subcategory", slug="renamed-sub"
        ),
        lambda: Category.objects.filter(
            pk=Category.objects.filter(parent__isnull=True).first().pk
        ).update(name="Renamed pillar"),
        lambda: Category.objects.filter(pk=entries[10].category_id).update(
            parent=Category.objects.filter(parent__isnull=True).last()
        ),
        lambda: Project.objects.filter(pk=entries[11].pk).delete(),
    ]
    for write in writes:
        with transaction.atomic():
            write()
            _assert_bodies_current()  # inside the writing transaction already


def test_a_saved_entry_gets_its_body_in_the_same_transaction(landscape):  # noqa: F811
    category = Category.objects.filter(parent__isnull=False).first()
    with transaction.atomic():
        created = Project.objects.create(
            name="Fresh", slug="fresh", homepage_url="https://fresh.example", category=category
        )
        assert EntryBody.objects.filter(project_id=created.pk, plain=True).exists()
        created.description = "Changed"
        created.save()
        _assert_bodies_current()
        created.delete()
        assert not EntryBody.objects.filter(project_id=created.pk).exists()


def test_a_refresh_that_changes_nothing_shown_leaves_the_body_alone(landscape):  # noqa: F811
    entry = Project.objects.order_by("pk").first()

    def tuple_id():
        with connection.cursor() as cursor:
            cursor.execute("SELECT ctid, xmin FROM api_entrybody WHERE project_id = %s", [entry.pk])
            return cursor.fetchone()

    before = tuple_id()
    # The entry's copied stars and last activity are not in its body.
    Project.objects.filter(pk=entry.pk).update(stars=99, last_activity=NOW)
    assert tuple_id() == before


# --- Any text and JSON the columns can hold -----------------------------------------------

# Text PostgreSQL can store (no NUL, no lone surrogate), with the characters JSON writers
# differ on: quotes, backslashes, control characters, DEL, U+2028/2029, beyond the BMP.
_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from("\"\\/\b\f\n\r\t\x01\x1f\x7f\u2028\u2029é€😀<>&'"),
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    ),
    max_size=40,
)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=12,
)


@hypothesis_settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=_TEXT.filter(str.strip),
    description=_TEXT,
    # Values the write paths refuse but the columns hold: bodies with them are not plain.
    tags=st.lists(_TEXT | st.none() | st.integers(), max_size=4),
    links=st.lists(
        st.fixed_dictionaries(
            {"name": _TEXT | st.none(), "url": _TEXT | st.integers()},
            optional={"extra": _JSON},
        ),
        max_size=3,
    ),
    evidence=st.dictionaries(_TEXT, _JSON, max_size=4),
    suggestion=st.dictionaries(_TEXT, _JSON, max_size=3),
    first_name=_TEXT,
    category_name=_TEXT.filter(str.strip),
)
def test_any_text_and_json_is_written_as_the_serializer_writes_it(
    small_landscape, name, description, tags, links, evidence, suggestion, first_name, category_name
):
    """Every plain body is the serializer's JSON for its entry, byte for byte (a body with
    a number Python writes otherwise than jsonb keeps, such as 1.5e-07, is not plain)."""
    entry = Project.objects.get(slug="alpha")
    with transaction.atomic():
        Project.objects.filter(pk=entry.pk).update(
            name=name, description=description, tags=tags, other_links=links
        )
        Finding.objects.create(
            project=entry,
            kind=Finding.Kind.INACTIVE,
            subject=name,
            evidence=evidence,
            suggestion=suggestion,
            first_seen=NOW,
            last_seen=NOW,
        )
        user = make_user("fuzzed")
        type(user).objects.filter(pk=user.pk).update(first_name=first_name)
        Maintainer.objects.create(user=user, project=entry)
        Category.objects.filter(pk=entry.category_id).update(name=category_name)
        _assert_bodies_current()
        transaction.set_rollback(True)
