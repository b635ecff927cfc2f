"""Lists hang on the directory's data version (projects.web.cache): the ETag and
Last-Modified come from it without a query, anonymous JSON bodies are kept as rendered
bytes, and every way of changing what a list shows moves it."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache, caches
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils.http import http_date
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from projects.models import (
    Category,
    Finding,
    Maintainer,
    Project,
    RepositoryStatus,
    SecondaryCategory,
)
from projects.web import cache as web_cache
from projects.web import near
from projects.web.cache import VERSION_KEY, bump_version, read_version

pytestmark = pytest.mark.django_db

URL = "/api/v1/projects/"
NOW = datetime(2025, 6, 1, tzinfo=UTC)
SAME_HEADERS = (
    "Content-Type",
    "ETag",
    "Last-Modified",
    "Cache-Control",
    "Vary",
    "Allow",
    "Content-Length",
)


def _slugs(response) -> list[str]:
    return [e["slug"] for e in response.json()["results"]]


def _entry(response, slug: str) -> dict:
    return next(e for e in response.json()["results"] if e["slug"] == slug)


# --- Each way of writing moves the version ------------------------------------------------


def _orm_save(ctx):
    alpha = Project.objects.get(slug="alpha")
    alpha.description = "Changed through the ORM."
    alpha.save()
    return lambda r: _entry(r, "alpha")["description"] == "Changed through the ORM."


def _api_patch_by_staff(ctx):
    response = (
        ctx["actors"]["staff"]
        .client()
        .patch("/api/v1/projects/alpha/", {"description": "Changed by staff."}, format="json")
    )
    assert response.status_code == 200
    return lambda r: _entry(r, "alpha")["description"] == "Changed by staff."


def _orm_delete(ctx):
    Project.objects.get(slug="gamma").delete()
    return lambda r: "gamma" not in _slugs(r)


def _api_delete_by_staff(ctx):
    response = ctx["actors"]["staff"].client().delete("/api/v1/projects/gamma/")
    assert response.status_code == 204
    return lambda r: "gamma" not in _slugs(r)


def _finding_created(ctx):
    Finding.objects.create(
        project=Project.objects.get(slug="alpha"),
        kind=Finding.Kind.INACTIVE,
        subject="https://github.com/example/alpha",
        evidence={"days": 400},
        first_seen=NOW,
        last_seen=NOW,
    )
    return lambda r: [f["kind"] for f in _entry(r, "alpha")["findings"]] == ["inactive"]


def _repository_observed(ctx):
    RepositoryStatus.objects.create(
        project=Project.objects.get(slug="alpha"),
        url="https://github.com/example/alpha",
        host="github.com",
        owner="example",
        name="alpha",
        stars=42,
        checked_at=NOW,
    )
    return lambda r: (_entry(r, "alpha")["repository"] or {}).get("stars") == 42


def _maintainer_added(ctx):
    user = get_user_model().objects.create_user(username="newcomer", first_name="Newcomer")
    Maintainer.objects.create(user=user, project=Project.objects.get(slug="alpha"))
    return lambda r: {"name": "Newcomer", "role": "maintainer"} in _entry(r, "alpha")["maintainers"]


def _second_path_added(ctx):
    SecondaryCategory.objects.create(
        project=Project.objects.get(slug="alpha"),
        category=Category.objects.get(slug="modeling-vision"),
    )
    return lambda r: "modeling-vision" in [c["slug"] for c in _entry(r, "alpha")["categories"]]


def _category_renamed(ctx):
    category = Category.objects.get(slug="training-general")
    category.name = "Everything"
    category.save()
    return lambda r: _entry(r, "alpha")["categories"][0]["path"] == "Training / Everything"


def _bulk_update_then_bump(ctx):
    # What services do after a write that sends no signal.
    Project.objects.filter(slug="alpha").update(description="Bulk.")
    bump_version()
    return lambda r: _entry(r, "alpha")["description"] == "Bulk."


WRITES = [
    _orm_save,
    _api_patch_by_staff,
    _orm_delete,
    _api_delete_by_staff,
    _finding_created,
    _repository_observed,
    _maintainer_added,
    _second_path_added,
    _category_renamed,
    _bulk_update_then_bump,
]


@pytest.mark.parametrize("write", WRITES, ids=lambda f: f.__name__.strip("_"))
@pytest.mark.parametrize("who", ["anonymous", "staff"])
def test_a_write_changes_the_list_etag_and_a_conditional_get_answers_the_new_data(
    actors, write, who
):
    client = actors[who].client()
    first = client.get(URL)
    assert first.status_code == 200
    etag = first["ETag"]
    assert client.get(URL, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert client.get(URL).content == first.content  # anonymous: the kept bytes

    shows_the_change = write({"actors": actors})

    changed = client.get(URL, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert shows_the_change(changed)
    assert not shows_the_change(first)
    again = client.get(URL)
    assert again.content == changed.content
    assert again["ETag"] == changed["ETag"]
    assert client.get(URL, HTTP_IF_NONE_MATCH=changed["ETag"]).status_code == 304


# --- The version --------------------------------------------------------------------------


def test_the_version_is_the_time_of_the_last_change_and_never_goes_back(small_landscape):
    before = time.time_ns() // 1000
    bump_version()
    version = read_version()
    assert before <= version <= time.time_ns() // 1000

    # Ahead of this clock (another host's, or many bumps in one microsecond): plus one.
    cache.set(VERSION_KEY, version + 10**9, timeout=None)
    near.forget()
    bump_version()
    assert read_version() == version + 10**9 + 1

    # Behind it: the time of this change.
    cache.set(VERSION_KEY, 5, timeout=None)
    near.forget()
    bump_version()
    assert read_version() >= before

    response = APIClient().get(URL)
    assert response["Last-Modified"] == http_date(read_version() // 10**6)


def test_a_missing_version_starts_again_from_the_clock(small_landscape):
    cache.delete(VERSION_KEY)
    near.forget()  # as this worker does within NEAR_CACHE_RECHECK
    before = time.time_ns() // 1000
    first = APIClient().get(URL)
    assert read_version() >= before
    assert first["ETag"]
    cache.delete(VERSION_KEY)  # evicted: the old ETag is not valid any more
    near.forget()  # as this worker does within NEAR_CACHE_RECHECK
    assert APIClient().get(URL, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200


def _scheduled() -> list:
    return [func for _sids, func, _robust in connection.run_on_commit if func is web_cache._advance]


def test_a_bump_inside_a_transaction_is_scheduled_once_for_its_commit(small_landscape):
    # The test's transaction: the fixture's writes already scheduled the one callback.
    assert len(_scheduled()) == 1
    before = read_version()
    for project in Project.objects.all():
        project.save()
    bump_version()
    now = read_version()
    assert now > before  # the transaction's own reads see a new version at once
    assert len(_scheduled()) == 1
    _scheduled()[0]()  # what the commit runs
    assert read_version() > now


@pytest.mark.django_db(transaction=True)
def test_the_version_moves_again_when_the_transaction_commits():
    pillar = Category.objects.create(name="Training", slug="training")
    category = Category.objects.create(name="General", slug="training-general", parent=pillar)
    with transaction.atomic():
        Project.objects.create(
            name="Alpha", slug="alpha", homepage_url="https://alpha.example", category=category
        )
        inside = read_version()
    # A reader that cached pre-commit rows did so under `inside`: never read again.
    assert read_version() > inside

    seen = []

    def rolled_back():
        with transaction.atomic():
            Project.objects.filter(slug="alpha").update(name="Rolled back")
            bump_version()
            seen.append(read_version())
            raise RuntimeError

    with pytest.raises(RuntimeError):
        rolled_back()
    inside = seen[0]
    assert read_version() == inside  # nothing committed, nothing more to invalidate

    bump_version()  # outside a transaction: at once
    assert read_version() > inside


# --- Kept bodies: the bytes, one cache round trip -------------------------------------------


class _Recorder:
    """The cache calls a request makes, but the throttles' own (their counters)."""

    def __init__(self, monkeypatch):
        self.calls: list[str] = []
        backend = caches["default"]
        for name in ("get", "get_many", "set", "set_many", "add", "incr", "delete", "has_key"):
            monkeypatch.setattr(backend, name, self._wrap(name, getattr(backend, name)))

    def _wrap(self, name, method):
        def recorded(*args, **kwargs):
            key = args[0] if args else ""
            if not (isinstance(key, str) and key.startswith("throttle_")):
                self.calls.append(name)
            return method(*args, **kwargs)

        return recorded


def _render_nothing_but_empty(self, data, *args, **kwargs):
    # A 304's Response renders None to b"" (as ever); a body must not be rendered again.
    assert data is None, "a kept body was rendered again"
    return b""


def test_a_kept_anonymous_list_is_answered_from_its_bytes_without_sql(small_landscape, monkeypatch):
    client = APIClient()
    first = client.get(URL)
    assert first.status_code == 200
    assert first["Content-Type"] == "application/json"

    recorder = _Recorder(monkeypatch)
    with (
        CaptureQueriesContext(connection) as queries,
        mock.patch.object(JSONRenderer, "render", _render_nothing_but_empty),
    ):
        # This worker's own copy (projects.web.near): no cache round trip at all.
        kept = client.get(URL)
        assert recorder.calls == []
        not_modified = client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"])
        assert not_modified.status_code == 304
        since = client.get(URL, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
        assert since.status_code == 304
        assert recorder.calls == []
        # A worker without the copy (another process, or past NEAR_CACHE_RECHECK): the
        # version, then the answer kept in the shared cache.
        near.forget()
        from_shared = client.get(URL)
        assert recorder.calls == ["get", "get"]
        assert queries.captured_queries == []

    assert kept.status_code == from_shared.status_code == 200
    assert kept.content == from_shared.content == first.content
    assert kept.json() == first.json()
    for header in SAME_HEADERS:
        assert kept[header] == first[header] == from_shared[header], header
    for header in ("ETag", "Last-Modified", "Cache-Control", "Vary"):
        assert not_modified[header] == first[header], header
    assert first["Cache-Control"] == "public, max-age=60"
    assert {"Accept", "Authorization", "Cookie"} <= {v.strip() for v in first["Vary"].split(",")}

    # A stale conditional read: the kept body.
    assert client.get(URL, HTTP_IF_NONE_MATCH='"stale"').content == first.content


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        (URL + "?format=json", {}),
        (URL, {"HTTP_ACCEPT": "application/json; indent=2"}),
    ],
    ids=["format-json", "accept-indent"],
)
def test_every_anonymous_json_read_is_kept_whole(small_landscape, monkeypatch, path, headers):
    client = APIClient()
    first = client.get(path, **headers)
    assert first.status_code == 200
    with (
        CaptureQueriesContext(connection) as queries,
        mock.patch.object(JSONRenderer, "render", _render_nothing_but_empty),
    ):
        again = client.get(path, **headers)
        assert queries.captured_queries == []
    assert again.content == first.content
    assert again["ETag"] == first["ETag"]
    assert again["Content-Type"] == first["Content-Type"]
    # The same path under another Accept is another answer, never the kept one.
    plain = client.get(URL)
    if headers.get("HTTP_ACCEPT"):
        assert plain.content != first.content
        assert plain.json() == first.json()


def _refuse(*args, **kwargs):
    raise AssertionError("a kept read reached the session middleware")


def test_a_kept_read_is_answered_before_the_session_middleware_with_every_header(
    small_landscape, monkeypatch
):
    from django.contrib.messages.middleware import MessageMiddleware
    from django.contrib.sessions.middleware import SessionMiddleware

    client = APIClient()
    first = client.get(URL, HTTP_ORIGIN="https://elsewhere.example")
    monkeypatch.setattr(SessionMiddleware, "process_request", _refuse)
    monkeypatch.setattr(MessageMiddleware, "process_request", _refuse)
    kept = client.get(URL, HTTP_ORIGIN="https://elsewhere.example")
    assert kept.status_code == 200
    assert kept.content == first.content
    for header in (
        "Content-Type",
        "Content-Length",
        "ETag",
        "Last-Modified",
        "Cache-Control",
        "Vary",
        "X-Frame-Options",
        "X-Content-Type-Options",
        "Content-Security-Policy",
        "Access-Control-Allow-Origin",
    ):
        assert kept.get(header) == first.get(header), header
    assert kept["Access-Control-Allow-Origin"] == "https://elsewhere.example"
    # Another origin, or none, never gets the first visitor's CORS answer.
    other = client.get(URL, HTTP_ORIGIN="https://another.example")
    assert other["Access-Control-Allow-Origin"] == "https://another.example"
    assert "Access-Control-Allow-Origin" not in client.get(URL)


def test_a_failed_precondition_on_a_kept_read_is_the_views_412(small_landscape):
    client = APIClient()
    first = client.get(URL)
    assert client.get(URL).content == first.content  # kept now
    assert client.get(URL, HTTP_IF_MATCH='"other"').status_code == 412
    assert client.get(URL, HTTP_IF_UNMODIFIED_SINCE=http_date(86400)).status_code == 412
    assert client.get(URL, HTTP_IF_MATCH=first["ETag"]).content == first.content


def test_an_answer_that_sets_a_cookie_is_not_kept(small_landscape):
    # The browsable API puts a CSRF token in its page, hence a cookie: someone's own.
    first = APIClient().get(URL, HTTP_ACCEPT="text/html")
    assert first.status_code == 200
    assert "csrftoken" in first.cookies
    with CaptureQueriesContext(connection) as queries:
        again = APIClient().get(URL, HTTP_ACCEPT="text/html")
    assert again.status_code == 200
    assert queries.captured_queries, "an answer that set a cookie was given again"


def test_a_read_with_cookies_is_answered_by_the_view(small_landscape):
    client = APIClient()
    client.cookies["theme"] = "dark"
    client.get(URL)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
    assert queries.captured_queries


def test_a_session_cookie_is_never_answered_from_the_kept_reads(actors):
    anonymous = actors["anonymous"].client()
    assert "hidden" not in _slugs(anonymous.get(URL))
    assert "hidden" not in _slugs(anonymous.get(URL))  # kept now
    signed_in = APIClient()
    signed_in.force_login(actors["staff"].user)  # a session cookie, no Authorization
    assert "hidden" in _slugs(signed_in.get(URL))


def test_a_change_in_this_worker_shows_at_once_and_from_another_after_the_recheck(
    small_landscape, settings
):
    settings.NEAR_CACHE_RECHECK = 3600  # nothing is asked of the shared cache again
    client = APIClient()
    before = client.get(URL)
    # Another process bumps the version in the shared cache: this worker keeps its copy
    # until its next recheck (here, never)...
    cache.set(VERSION_KEY, read_version() + 10**6, timeout=None)
    assert client.get(URL)["ETag"] == before["ETag"]
    # ...which NEAR_CACHE_RECHECK = 0 makes every request.
    settings.NEAR_CACHE_RECHECK = 0
    assert client.get(URL)["ETag"] != before["ETag"]
    # A write in this worker is seen by the very next request, whatever the interval.
    settings.NEAR_CACHE_RECHECK = 3600
    current = client.get(URL)
    Project.objects.filter(slug="alpha").first().save()
    assert client.get(URL)["ETag"] != current["ETag"]


def test_only_anonymous_json_reads_are_kept(actors):
    anonymous, staff = actors["anonymous"].client(), actors["staff"].client()
    assert "hidden" not in _slugs(anonymous.get(URL))
    assert "hidden" not in _slugs(anonymous.get(URL))  # kept
    assert "hidden" in _slugs(staff.get(URL))  # never the public's bytes
    assert "hidden" in _slugs(staff.get(URL))
    html = anonymous.get(URL, HTTP_ACCEPT="text/html")
    assert html.status_code == 200
    assert html["Content-Type"].startswith("text/html")
    assert anonymous.get(URL, HTTP_ACCEPT="text/html").content.count(b"Alpha") >= 1
    indented = anonymous.get(URL, HTTP_ACCEPT="application/json; indent=2")
    assert indented.content != anonymous.get(URL).content
    assert indented.json() == anonymous.get(URL).json()
    assert indented["ETag"] != anonymous.get(URL)["ETag"]


@pytest.mark.parametrize(
    "url",
    ["/api/v1/findings/", "/api/v1/categories/", "/api/v1/stats/", "/api/v1/export/projects.json"],
)
def test_directory_wide_reads_follow_the_version(small_landscape, url):
    client = APIClient()
    first = client.get(url)
    assert first.status_code == 200
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    assert client.get(url).content == first.content
    bump_version()
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200


# --- Without the cache ----------------------------------------------------------------------

DEAD_REDIS = {
    "default": {
        "BACKEND": "landscape.cache.FaultTolerantRedisCache",
        # Nothing listens on port 1: every call is refused at once.
        "LOCATION": "redis://127.0.0.1:1/12",
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2, "RETRY_AFTER": 0},
    }
}


@pytest.mark.parametrize(
    "caches_setting",
    [DEAD_REDIS, {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}],
    ids=["redis-down", "dummy"],
)
def test_without_a_version_every_read_is_computed_and_never_answers_304(
    small_landscape, settings, caches_setting
):
    client = APIClient()
    first = client.get(URL)  # before: validators the client may send back later
    settings.CACHES = caches_setting
    assert read_version() is None
    bump_version()  # a write path never fails on the cache

    response = client.get(URL)
    assert response.status_code == 200
    assert "ETag" not in response
    assert "Last-Modified" not in response
    assert response["Cache-Control"] == "public, max-age=60"
    assert client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200
    assert client.get(URL, HTTP_IF_NONE_MATCH="*").status_code == 200
    assert client.get(URL, HTTP_IF_MODIFIED_SINCE=http_date(time.time() + 3600)).status_code == 200
    assert client.get(URL, HTTP_IF_MATCH='"other"').status_code == 200

    alpha = Project.objects.get(slug="alpha")
    alpha.description = "Changed while the cache is away."
    alpha.save()
    assert _entry(client.get(URL), "alpha")["description"] == "Changed while the cache is away."
    assert client.get("/api/v1/stats/").status_code == 200
    assert client.get("/api/v1/projects/alpha/").status_code == 200
