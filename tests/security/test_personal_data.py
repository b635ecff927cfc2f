"""Personal data given to the curators stays with them: a reporter's email, users' emails,
claim and dispute statements, change-request reasons never appear in a public answer (API,
exports, stored bodies, feed, pages, badge, embed); staff see the reporter in the admin."""

from __future__ import annotations

import importlib
import json

import pytest
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from projects import moderation
from projects.models import Finding

pytestmark = pytest.mark.django_db

REPORTER_EMAIL = "reporter.private@example.net"
REPORT_MESSAGE = "The repository moved to the foundation's organization."
CLAIM_STATEMENT = "Claim statement only staff should read 8812."
DISPUTE_STATEMENT = "Dispute statement only staff should read 3391."
REJECTION_REASON = "Rejection reason for the submitter 5520."

PUBLIC_PATHS = (
    "/api/v1/findings/",
    "/api/v1/findings/?project=alpha",
    "/api/v1/projects/alpha/",
    "/api/v1/projects/",
    "/api/v1/projects/?ordering=-stars",
    "/api/v1/projects/?ordering=name",
    "/api/v1/categories/",
    "/api/v1/stats/",
    "/api/v1/export/projects.json",
    "/api/v1/export/projects.csv",
    "/api/v1/export/landscape.yml",
    "/",
    "/?q=alpha",
    "/projects/alpha/",
    "/projects/alpha/report/",
    "/stats/",
    "/feed.atom",
    "/badge/alpha.svg",
    "/embed/training-general/",
)


def public_answers(client) -> dict[str, str]:
    answers = {}
    for path in PUBLIC_PATHS:
        response = client.get(path)
        assert response.status_code == 200, path
        answers[path] = response.content.decode()
    return answers


def stored_bodies() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM api_entrybody ORDER BY project_id")
        return "\n".join(row[0] for row in cursor.fetchall())


def assert_nowhere_public(client, *secrets: str) -> None:
    for path, body in public_answers(client).items():
        for secret in secrets:
            assert secret not in body, f"{path} shows {secret!r}"
    bodies = stored_bodies()
    assert bodies, "no stored bodies to check"
    for secret in secrets:
        assert secret not in bodies, f"a stored API body holds {secret!r}"


def report(client, **fields):
    data = {"reason": "moved", "message": REPORT_MESSAGE, "email": REPORTER_EMAIL, **fields}
    return client.post("/projects/alpha/report/", data)


def test_a_reporters_email_and_message_reach_no_public_answer(client, world):
    response = report(client)
    assert response.status_code == 302
    finding = Finding.objects.get(kind="user_report")
    # The report itself is public: its reason and details, not who sent it.
    assert finding.evidence == {"reason": "moved", "message": REPORT_MESSAGE, "page": "public"}
    findings = client.get("/api/v1/findings/").json()["results"]
    assert any(f["kind"] == "user_report" for f in findings)

    assert_nowhere_public(client, REPORTER_EMAIL)


def test_staff_see_the_reporter_in_the_admin_and_maintainers_do_not(client, world):
    report(client)
    finding = Finding.objects.get(kind="user_report")
    assert finding.curator_evidence == {"email": REPORTER_EMAIL}

    client.force_login(world["actors"]["staff"].user)
    page = client.get(f"/admin/projects/finding/{finding.pk}/change/").content.decode()
    assert REPORTER_EMAIL in page

    # The entry's maintainer edits it in the admin, where its open findings are listed.
    owner = world["actors"]["owner"].user
    owner.is_staff = True
    owner.save()
    client.force_login(owner)
    own = client.get(f"/admin/projects/project/{world['alpha'].pk}/change/")
    assert own.status_code == 200
    assert REPORTER_EMAIL not in own.content.decode()
    assert client.get(f"/admin/projects/finding/{finding.pk}/change/").status_code in (302, 403)


def test_reports_stored_before_the_split_are_moved_out_of_public_evidence(client, world):
    now = timezone.now()
    old = Finding.objects.create(
        project=world["alpha"],
        kind="user_report",
        subject="user-report:old",
        evidence={"reason": "other", "message": REPORT_MESSAGE, "email": REPORTER_EMAIL},
        first_seen=now,
        last_seen=now,
    )
    assert REPORTER_EMAIL in stored_bodies()  # as the triggers copied it

    migration = importlib.import_module("projects.migrations.0015_finding_curator_evidence")
    migration.split_evidence(django_apps, None)

    old.refresh_from_db()
    assert old.evidence == {"reason": "other", "message": REPORT_MESSAGE}
    assert old.curator_evidence == {"email": REPORTER_EMAIL}
    # Updating the row made the triggers write the entry's stored body again.
    assert_nowhere_public(client, REPORTER_EMAIL)


def test_users_emails_and_their_statements_to_staff_stay_private(client, world):
    actors = world["actors"]
    alpha = world["alpha"]
    User = get_user_model()
    # A maintainer with names and one without (shown by user name), both with emails.
    named = User.objects.create_user(
        "named", "named.person@example.com", "x", first_name="Named", last_name="Person"
    )
    moderation._make_maintainer(user=named, project=alpha, verified=True)
    claimant = User.objects.create_user("claimant", "claimant.person@example.com", "x")
    moderation.claim_create(user=claimant, project=alpha, statement=CLAIM_STATEMENT)
    finding = Finding.objects.filter(project=alpha).first()
    moderation.dispute_create(
        finding=finding, user=actors["owner"].user, statement=DISPUTE_STATEMENT
    )
    pending = moderation.change_request_create(
        project=alpha, user=actors["owner"].user, changes={"name": "Alpha Renamed"}
    )
    moderation.change_reject(
        request=pending, reviewer=actors["staff"].user, reason=REJECTION_REASON
    )

    emails = [u.email for u in User.objects.all() if u.email]
    assert "owner@example.org" in emails and "named.person@example.com" in emails
    assert_nowhere_public(client, *emails, CLAIM_STATEMENT, DISPUTE_STATEMENT, REJECTION_REASON)
    # What is public of a maintainer is their name.
    maintainers = client.get("/api/v1/projects/alpha/").json()["maintainers"]
    assert {"name": "Named Person", "role": "maintainer"} in maintainers


def test_the_findings_api_shows_the_same_evidence_to_staff(client, world):
    """Staff read the curators' part in the admin, not through a public shape."""
    report(client)
    staff = world["actors"]["staff"]
    body = json.dumps(client.get("/api/v1/findings/", **staff.auth).json())
    assert REPORTER_EMAIL not in body


def test_a_signed_up_maintainers_public_name_says_nothing_of_their_email(client, world):
    email = "jane.private-person@example.com"
    response = client.post(
        "/accounts/signup/",
        {"email": email, "password1": "a-long-pass-phrase-9", "password2": "a-long-pass-phrase-9"},
    )
    assert response.status_code == 302
    user = get_user_model().objects.get(email=email)
    moderation._make_maintainer(user=user, project=world["alpha"], verified=True)
    client.logout()

    maintainers = client.get("/api/v1/projects/alpha/").json()["maintainers"]
    assert {"name": user.get_username(), "role": "maintainer"} in maintainers
    assert_nowhere_public(client, email, "jane.private-person")
