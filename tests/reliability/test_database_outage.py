"""PostgreSQL unreachable: 503 with Retry-After (JSON for the API, a small page otherwise),
never 500, a GET tried once more on a fresh connection; a bad query keeps its 500.

In process, views query a throwaway PostgreSQL that is stopped (landscape.outage's
middleware and handler500 through Django's own handler); then real gunicorn serves the demo
landscape from a throwaway cluster that is stopped and started again.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid

import pytest
from django.db import connection, connections
from django.db.backends.postgresql.base import DatabaseWrapper
from django.http import HttpResponse
from django.test import Client
from django.urls import path

from api.services import KEY_PREFIX
from landscape.outage import RETRY_AFTER_SECONDS
from tests.reliability.procs import app_env, get, gunicorn, manage

pytestmark = [pytest.mark.faults]

# The views below reach the stopped server through this connection (the test sets it).
stopped: dict[str, DatabaseWrapper] = {}
calls: list[str] = []


def query_stopped(request):
    calls.append(request.method)
    with stopped["db"].cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("never")


def stopped_then_main(request):
    """Fails on its first call (the stopped server), answers on the second (the test
    database): what a connection broken by a restart already over looks like."""
    calls.append(request.method)
    db = stopped["db"] if len(calls) == 1 else connection
    with db.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("answered")


def bad_query(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table")
    return HttpResponse("never")


class QueryInMiddleware:
    """A middleware that reads the database (as sessions and the API's list pages do)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/in-middleware/":
            return query_stopped(request)
        return self.get_response(request)


urlpatterns = [
    path("page/", query_stopped),
    path("api/v1/thing/", query_stopped),
    path("flaky/", stopped_then_main),
    path("bad/", bad_query),
]
handler500 = "landscape.outage.server_error"


@pytest.fixture
def outage(postgres_server, settings):
    settings.ROOT_URLCONF = __name__
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE[:1],
        f"{__name__}.QueryInMiddleware",
        *settings.MIDDLEWARE[1:],
    ]
    assert settings.MIDDLEWARE[0] == "landscape.outage.OutageMiddleware"
    db = DatabaseWrapper(
        {
            **connections["default"].settings_dict,
            "HOST": "127.0.0.1",
            "PORT": postgres_server.port,
            "NAME": "landscape",
            "USER": "postgres",
            "PASSWORD": "",
        },
        alias="stopped",
    )
    postgres_server.stop()
    stopped["db"] = db
    calls.clear()
    yield Client(raise_request_exception=False)
    db.close()
    stopped.clear()


def assert_unavailable(response, *, json_body: bool) -> None:
    assert response.status_code == 503, response.content[:500]
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response["Cache-Control"] == "no-store"
    if json_body:
        assert response["Content-Type"] == "application/json"
    else:
        assert response["Content-Type"].startswith("text/html")
    if response.request["REQUEST_METHOD"] == "HEAD":
        return
    if json_body:
        assert "database is unavailable" in json.loads(response.content)["detail"]
    else:
        assert b"try again in 5 seconds" in response.content


@pytest.mark.django_db(transaction=True)
def test_a_page_on_a_stopped_database_answers_503_after_one_retry(outage):
    assert_unavailable(outage.get("/page/"), json_body=False)
    assert calls == ["GET", "GET"]  # tried once more on a fresh connection, no more


@pytest.mark.django_db(transaction=True)
def test_the_api_on_a_stopped_database_answers_503_in_json(outage):
    assert_unavailable(outage.get("/api/v1/thing/"), json_body=True)
    assert_unavailable(outage.head("/api/v1/thing/"), json_body=True)


@pytest.mark.django_db(transaction=True)
def test_a_write_on_a_stopped_database_answers_503_without_a_retry(outage):
    assert_unavailable(outage.post("/page/", {"a": "b"}), json_body=False)
    assert calls == ["POST"]


@pytest.mark.django_db(transaction=True)
def test_a_middleware_meeting_the_stopped_database_answers_503(outage):
    assert_unavailable(outage.get("/in-middleware/"), json_body=False)
    assert calls == ["GET", "GET"]


@pytest.mark.django_db(transaction=True)
def test_a_get_whose_connection_broke_succeeds_on_the_retry(outage):
    response = outage.get("/flaky/")
    assert (response.status_code, response.content) == (200, b"answered")
    assert calls == ["GET", "GET"]


@pytest.mark.django_db(transaction=True)
def test_a_bad_query_is_still_a_500(outage):
    response = outage.get("/bad/")
    assert response.status_code == 500
    assert "Retry-After" not in response


# --- Real gunicorn, a real PostgreSQL stopped and started again --------------------------------

PAGES = ["/", "/projects/pytorch-lightning/", "/stats/"]
API = ["/api/v1/projects/", "/api/v1/projects/pytorch-lightning/", "/api/v1/stats/"]


def fresh(path_: str) -> str:
    """The path with a query nobody asked before: no kept answer, the view itself runs."""
    return f"{path_}?fresh={uuid.uuid4().hex}"


def answer(base: str, path_: str, *, method: str = "GET", headers=None, data=None):
    request = urllib.request.Request(base + path_, data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_gunicorn_answers_503_while_postgres_is_down_and_200_after(
    postgres_server, static_root, tmp_path
):
    env = app_env(
        DATABASE_URL=postgres_server.url(),
        REDIS_URL="",
        CELERY_TASK_ALWAYS_EAGER="1",
        STATIC_ROOT=str(static_root),
        MEDIA_ROOT=str(tmp_path / "media"),
        CONN_MAX_AGE="600",  # persistent connections, broken by the stop
    )
    manage(env, "migrate", "--noinput")
    manage(env, "seed_demo")
    web, base = gunicorn(env, tmp_path, workers=2)
    try:
        for p in PAGES + API:  # every worker holds a live connection
            assert get(base + fresh(p))[0] == 200, p

        postgres_server.stop()
        during = []
        for p in PAGES + API:
            for method, headers in (
                ("GET", {}),
                ("HEAD", {}),
                ("GET", {"Cookie": "sessionid=" + "x" * 32}),  # a session to load
            ):
                status, response_headers, body = answer(
                    base, fresh(p), method=method, headers=headers
                )
                during.append((p, method, status))
                if status != 503:
                    # Answered without the database (a cached page) or refused as ever.
                    assert status in (200, 405), (p, method, status, body[:300], web.text())
                    continue
                assert response_headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
                kind = response_headers["Content-Type"]
                if p.startswith("/api/"):
                    assert kind == "application/json"
                    if method == "GET":
                        assert "database is unavailable" in json.loads(body)["detail"]
                else:
                    assert kind.startswith("text/html")
                    if method == "GET":
                        assert b"try again in 5 seconds" in body
        # What needs the database said so: the uncached entry page and every API read.
        needed = {(p, "GET", 503) for p in ["/projects/pytorch-lightning/", *API]}
        assert needed <= set(during), during
        # A write: token authentication reads the database; answered 503, not retried.
        status, response_headers, _ = answer(
            base,
            "/api/v1/projects/",
            method="POST",
            headers={
                "Authorization": f"Token {KEY_PREFIX}_{'t' * 40}",
                "Content-Type": "application/json",
            },
            data=b"{}",
        )
        assert (status, response_headers["Content-Type"]) == (503, "application/json")

        postgres_server.start()
        for p in PAGES + API:
            status, _, body = answer(base, fresh(p))
            assert status == 200, (p, status, body[:300], web.text())
    finally:
        web.stop()
    assert "Internal Server Error" not in web.text(tail=1_000_000)
    unavailable = sum(1 for *_, status in during if status == 503)
    print(
        f"\nwhile PostgreSQL was down: {len(during)} requests, {unavailable} answered 503 with "
        "Retry-After, the others from what needs no database; none 500"
    )
