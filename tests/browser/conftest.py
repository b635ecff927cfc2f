"""Playwright driving Debian's Chromium against pytest-django's live server.

``playwright install`` cannot download here, so the tests launch /usr/bin/chromium and
skip cleanly where it (or the Playwright package) is missing.
"""

from __future__ import annotations

import mimetypes
import os
import random
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import unquote

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from tests.conftest import FIXTURE_FILE, REPO_ROOT, SHARED_DATA

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
ARTIFACTS = REPO_ROOT / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the tests' own ORM calls are
    # plain synchronous code all the same.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, settings):
    """A fresh page whose /media/ requests are answered from MEDIA_ROOT (the live server does
    not serve uploads with DEBUG off), and anything off the live server is refused."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    media_root = Path(settings.MEDIA_ROOT)

    def serve_media(route):
        relative = unquote(route.request.url.split(django_settings.MEDIA_URL, 1)[1].split("?")[0])
        path = (media_root / relative).resolve()
        if media_root.resolve() in path.parents and path.is_file():
            route.fulfill(
                status=200,
                body=path.read_bytes(),
                content_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream",
            )
        else:
            route.fulfill(status=404, body=b"")

    context.route(f"{live_server.url}{django_settings.MEDIA_URL}**", serve_media)
    context.route(
        lambda url: not url.startswith(live_server.url),
        lambda route: route.abort(),
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


@pytest.fixture
def landscape_data(transactional_db):
    """The real landscape with its logos where the shared data is present, else the demo
    file; then some observed health, repository facts and a star history."""
    cache.clear()
    if (SHARED_DATA / "landscape.yml").is_file():
        call_command(
            "import_landscape",
            str(SHARED_DATA / "landscape.yml"),
            "--logos",
            str(SHARED_DATA / "logos"),
            verbosity=0,
        )
    else:
        call_command("import_landscape", str(FIXTURE_FILE), verbosity=0)
    _observe()
    cache.clear()
    yield
    cache.clear()


def _observe() -> None:
    from projects.models import Project, RepositoryStatus, Snapshot

    rng = random.Random(42)  # the same picture on every run
    now = timezone.now()
    healths = ["active"] * 6 + ["inactive"] * 2 + ["archived", "unknown"]
    for project in Project.objects.exclude(repo_url=None).exclude(repo_url=""):
        health = "archived" if project.maturity == "archived" else rng.choice(healths)
        parts = project.repo_url.rstrip("/").split("/")
        status = RepositoryStatus.objects.create(
            project=project,
            url=project.repo_url,
            host=parts[2],
            owner=parts[3] if len(parts) > 3 else "",
            name=parts[4] if len(parts) > 4 else "",
            stars=rng.randint(50, 40000),
            forks=rng.randint(5, 4000),
            license=rng.choice(["MIT", "Apache-2.0", "BSD-3-Clause", "GPL-3.0"]),
            pushed_at=now - timedelta(days=rng.randint(1, 1200)),
            last_release_at=now - timedelta(days=rng.randint(10, 1500)),
            checked_at=now - timedelta(hours=rng.randint(1, 20)),
            archived=health == "archived",
            health=health,
        )
        project.health = health
        project.save(update_fields=["health"])
        if project.name == "PyTorch Lightning":
            stars = 25000
            for week in range(52):
                stars += rng.randint(20, 120)
                Snapshot.objects.create(
                    repository=status,
                    day=date.today() - timedelta(weeks=52 - week),
                    stars=stars,
                    health=health,
                )
            status.stars = stars
            status.save(update_fields=["stars"])


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
