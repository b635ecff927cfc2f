"""The number of SQL queries per page does not grow with the directory, and cached
fragments are invalidated when an entry (or what is observed of it) changes."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from projects.models import Finding, Project, RepositoryStatus
from projects.web.cache import current_version


def count_queries(client, url: str) -> int:
    from django.core.cache import cache

    from projects.web import near

    cache.clear()  # a cold cache: every query the page can make
    near.forget()
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


PAGES = [
    "/",
    "/?show_archived=1",
    "/?q=entry",
    "/?category=modeling&health=active&maturity=none&license=MIT&findings=none&sort=stars",
    "/?view=list&sort=activity",
    "/stats/",
    "/feed.atom",
    "/embed/modeling/",
]


@pytest.mark.parametrize("url", PAGES)
def test_queries_per_page_are_the_same_at_10_and_1000_entries(client, make_entries, url):
    make_entries(10)
    small = count_queries(client, url)
    make_entries(990, prefix="More")
    assert Project.objects.count() == 1000
    large = count_queries(client, url)
    assert small == large, (url, small, large)


def test_project_page_queries_do_not_grow_with_its_neighbours(client, make_entries):
    projects = make_entries(10)
    url = projects[0].get_absolute_url()
    small = count_queries(client, url)
    make_entries(990, prefix="More")
    large = count_queries(client, url)
    assert small == large


def test_a_warm_cache_serves_the_landscape_without_listing_queries(client, make_entries):
    make_entries(10)
    client.get("/")
    with CaptureQueriesContext(connection) as ctx:
        client.get("/")
    assert not any("projects_project" in q["sql"] for q in ctx.captured_queries)


def test_saving_an_entry_invalidates_the_cached_landscape(client, make_entries):
    projects = make_entries(3)
    assert "Renamed Entry" not in client.get("/").content.decode()
    before = current_version()
    projects[0].name = "Renamed Entry"
    projects[0].save()
    assert current_version() != before
    assert "Renamed Entry" in client.get("/").content.decode()


def test_deleting_an_entry_invalidates_the_cached_landscape(client, make_entries):
    projects = make_entries(3)
    assert projects[2].slug in client.get("/").content.decode()
    projects[2].delete()
    assert projects[2].slug not in client.get("/").content.decode()


def test_new_observations_and_findings_invalidate_the_cache(client, make_entries):
    projects = make_entries(2)
    assert "With open findings (0)" in client.get("/").content.decode()
    now = timezone.now()
    Finding.objects.create(project=projects[0], kind="inactive", first_seen=now, last_seen=now)
    assert "With open findings (1)" in client.get("/").content.decode()

    assert "★ 12345" not in client.get("/?sort=stars").content.decode()
    status = RepositoryStatus.objects.get(project=projects[1])
    status.stars = 12345
    status.save()
    assert "★ 12345" in client.get("/?sort=stars").content.decode()


def test_category_rename_invalidates_the_cache(client, make_entries, tree):
    make_entries(2)
    assert "Seeing Machines" not in client.get("/").content.decode()
    tree["vision"].name = "Seeing Machines"
    tree["vision"].save()
    assert "Seeing Machines" in client.get("/").content.decode()


def test_the_kept_landscape_is_answered_before_the_session_middleware(
    client, make_entries, monkeypatch
):
    from django.contrib.messages.middleware import MessageMiddleware
    from django.contrib.sessions.middleware import SessionMiddleware

    make_entries(5)
    first = client.get("/")
    swapped = client.get("/", HTTP_HX_REQUEST="true")

    def refuse(*args, **kwargs):
        raise AssertionError("a kept page reached the session middleware")

    monkeypatch.setattr(SessionMiddleware, "process_request", refuse)
    monkeypatch.setattr(MessageMiddleware, "process_request", refuse)
    kept = client.get("/")
    assert kept.content == first.content
    for header in ("Content-Type", "Vary", "X-Frame-Options", "Content-Security-Policy"):
        assert kept.get(header) == first.get(header), header
    # What htmx swaps in is kept apart from the whole page.
    kept_swap = client.get("/", HTTP_HX_REQUEST="true")
    assert kept_swap.content == swapped.content != first.content
    # A visitor with a cookie (a session, messages, a CSRF token) gets the view's own page.
    client.cookies["sessionid"] = "whatever"
    with pytest.raises(AssertionError, match="session middleware"):
        client.get("/")
