"""What the public reads of failed checks and of maintainers' text: a link or repository
check that failed shows a short reason, never the worker's error text (hosts, resolved
addresses, the SSRF guard's verdict), which staff read in the admin; the Atom feed's
summaries are plain text."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

import pytest
from defusedxml import ElementTree as ET
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.utils import timezone

from projects import moderation, status
from projects.models import Category, Finding, LinkStatus, Project, RepositoryStatus
from tests.fakes.servers import Fault

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def category(db):
    pillar = Category.objects.create(name="Training", slug="training")
    return Category.objects.create(name="General", slug="training-general", parent=pillar)


def public_texts(client, slug: str) -> dict[str, str]:
    paths = [
        f"/projects/{slug}/",
        f"/api/v1/projects/{slug}/",
        "/api/v1/findings/",
        "/api/v1/projects/?ordering=-stars",
        "/api/v1/export/projects.json",
        "/feed.atom",
    ]
    texts = {}
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        texts[path] = response.content.decode()
    with connection.cursor() as cursor:
        cursor.execute("SELECT string_agg(body, ' ') FROM api_entrybody")
        texts["stored bodies"] = cursor.fetchone()[0]
    return texts


def assert_not_public(client, slug: str, *details: str) -> dict[str, str]:
    texts = public_texts(client, slug)
    for where, text in texts.items():
        for detail in details:
            assert detail not in text, f"{where} shows {detail!r}"
    return texts


def test_a_refused_link_is_public_only_as_a_reason(client, fake_links, settings, category):
    # The canary (127.0.0.1) answers; the listed address is one the guard refuses.
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    project = Project.objects.create(
        name="Intranet", slug="intranet", homepage_url="http://127.0.0.2:8/", category=category
    )
    t0 = datetime.now(UTC)
    for hours in (0, 12, 13, 25):
        status.links_check(project_ids=[project.pk], now=lambda h=hours: t0 + timedelta(hours=h))

    link = LinkStatus.objects.get(project=project)
    assert "refusing to connect" in link.error  # kept for the curators
    finding = Finding.objects.get(project=project, state="open")
    assert finding.kind == "link_broken"

    texts = assert_not_public(client, "intranet", "refusing to connect", "not a public address")
    assert "(the address is not allowed)" in texts["/projects/intranet/"]
    assert finding.evidence["error"] == "the address is not allowed"
    assert "refusing to connect" in finding.curator_evidence["error"]

    admin_link = staff_client_get(client, f"/admin/projects/linkstatus/{link.pk}/change/")
    assert "refusing to connect" in admin_link
    admin_finding = staff_client_get(client, f"/admin/projects/finding/{finding.pk}/change/")
    assert "refusing to connect" in admin_finding


def staff_client_get(client, path: str) -> str:
    staff = get_user_model().objects.filter(username="curator").first()
    if staff is None:
        staff = get_user_model().objects.create_user("curator", "curator@example.org", "x")
        staff.is_staff = True
        staff.save()
        staff.user_permissions.add(Permission.objects.get(codename="moderate_project"))
    client.force_login(staff)
    try:
        response = client.get(path)
        assert response.status_code == 200, path
        return response.content.decode()
    finally:
        client.logout()


def test_a_failed_repository_check_is_public_only_as_a_reason(client, fake_github, category):
    fake_github.active("acme/flaky")
    # Listed archived while active: a finding whose evidence carries the last error.
    project = Project.objects.create(
        name="Flaky",
        slug="flaky",
        homepage_url="https://flaky.example/",
        repo_url="https://github.com/acme/flaky",
        maturity="archived",
        category=category,
    )
    status.repositories_sync()
    ids = list(RepositoryStatus.objects.values_list("pk", flat=True))
    status.repositories_refresh(ids=ids)
    fake_github.inject(*[Fault.drop() for _ in range(10)])
    status.repositories_refresh(ids=ids)

    repo = RepositoryStatus.objects.get(project=project)
    assert repo.consecutive_failures == 1
    address = fake_github.url.split("//", 1)[1]  # 127.0.0.1:port, where the worker asked
    assert address in repo.last_error
    texts = assert_not_public(client, "flaky", address, repo.last_error)
    assert "check(s) failed (the server closed the connection)" in texts["/projects/flaky/"]
    finding = Finding.objects.get(project=project, state="open")
    assert address in finding.curator_evidence["last_error"]
    admin_page = f"/admin/projects/project/{project.pk}/change/"
    assert address in staff_client_get(client, admin_page)
    # The entry's maintainers edit it in the admin too; they are not curators.
    owner = get_user_model().objects.create_user("keeper", "keeper@example.org", "x")
    owner.is_staff = True
    owner.save()
    moderation._make_maintainer(user=owner, project=project, verified=True)
    client.force_login(owner)
    response = client.get(admin_page)
    assert response.status_code == 200
    assert "(the server closed the connection)" in response.content.decode()
    assert address not in response.content.decode()


def test_feed_summaries_are_plain_text(client, category):
    description = (
        'Fast <b>tensors</b> & <img src=x onerror="alert(1)"> <a href="https://x.example">'
    )
    Project.objects.create(
        name="Marked", slug="marked", homepage_url="https://m.example/", category=category,
        description=description,
    )  # fmt: skip

    response = client.get("/feed.atom")

    feed = ET.fromstring(response.content)
    (entry,) = feed.findall(f"{ATOM}entry")
    summary = entry.find(f"{ATOM}summary")
    assert summary.get("type") == "text"
    assert summary.text == f"{description} ({category})"


def test_errors_stored_before_the_split_leave_the_public_evidence(client, category):
    raw = "refusing to connect to runsc: 127.0.0.1 is not a public address"
    project = Project.objects.create(
        name="Old", slug="old", homepage_url="http://runsc/", category=category
    )
    now = timezone.now()
    finding = Finding.objects.create(
        project=project,
        kind="link_broken",
        subject="http://runsc/",
        evidence={"url": "http://runsc/", "error": raw, "words": [f"last error: {raw}"]},
        first_seen=now,
        last_seen=now,
    )
    repo = RepositoryStatus.objects.create(
        project=project,
        url="https://github.com/acme/old",
        host="github.com",
        owner="acme",
        name="old",
        last_error=raw,
        health_evidence={"last_error": raw, "words": [f"never checked ({raw})"]},
    )

    migration = importlib.import_module("projects.migrations.0015_finding_curator_evidence")
    migration.split_evidence(django_apps, None)

    finding.refresh_from_db()
    repo.refresh_from_db()
    assert finding.evidence["words"] == ["last error: the address is not allowed"]
    assert finding.curator_evidence["error"] == raw
    assert repo.health_evidence["words"] == ["never checked (the address is not allowed)"]
    assert repo.last_error == raw  # the curators' copy
    assert_not_public(client, "old", "refusing to connect", "not a public address")
