"""Claims, moderated changes, submissions, disputes, digests and history."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from projects import moderation, status
from projects.models import (
    Category,
    ChangeRequest,
    Claim,
    Finding,
    Maintainer,
    Project,
)

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def categories():
    pillar = Category.objects.create(name="Training", slug="training")
    general = Category.objects.create(name="General", slug="training-general", parent=pillar)
    graph = Category.objects.create(name="Graph", slug="training-graph", parent=pillar)
    return general, graph


@pytest.fixture
def entry(categories):
    return Project.objects.create(
        name="Lightning",
        slug="lightning",
        homepage_url="https://lightning.example/",
        repo_url="https://github.com/acme/lightning",
        category=categories[0],
        description="old text",
    )


@pytest.fixture
def other_entry(categories):
    return Project.objects.create(
        name="Other", slug="other", homepage_url="https://other.example/", category=categories[0]
    )


@pytest.fixture
def alice():
    return User.objects.create_user("alice", "alice@example.org", "pw-alice-123456")


@pytest.fixture
def moderator():
    user = User.objects.create_user("mod", "mod@example.org", "pw-mod-123456", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="moderate_project"))
    return User.objects.get(pk=user.pk)


def maintainer_of(project, user):
    Maintainer.objects.create(project=project, user=user, verified=True)
    moderation.maintainers_group().user_set.add(user)
    User.objects.filter(pk=user.pk).update(is_staff=True)
    return User.objects.get(pk=user.pk)


# --- Claims ---------------------------------------------------------------------------------


def test_an_approved_claim_makes_a_maintainer_and_says_so_by_email(
    entry, alice, moderator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        claim = moderation.claim_create(user=alice, project=entry, statement="core maintainer")
    assert claim.state == "pending"
    assert not entry.maintainers.exists()

    with django_capture_on_commit_callbacks(execute=True):
        moderation.claim_approve(claim=claim, reviewer=moderator)

    alice.refresh_from_db()
    assert entry.maintainers.get().user == alice
    assert alice.is_staff and alice.groups.filter(name="Maintainers").exists()
    assert [m.to for m in mail.outbox] == [["alice@example.org"]]
    assert "You now maintain Lightning" in mail.outbox[0].subject


def test_a_rejected_claim_needs_a_reason_and_mails_it(
    entry, alice, moderator, django_capture_on_commit_callbacks
):
    claim = moderation.claim_create(user=alice, project=entry, statement="I use it a lot")
    with pytest.raises(moderation.ModerationError, match="reason"):
        moderation.claim_reject(claim=claim, reviewer=moderator, reason=" ")
    with django_capture_on_commit_callbacks(execute=True):
        moderation.claim_reject(claim=claim, reviewer=moderator, reason="not a maintainer")
    assert Claim.objects.get().state == "rejected"
    assert not entry.maintainers.exists()
    assert "not a maintainer" in mail.outbox[0].body


def test_a_second_pending_claim_is_refused(entry, alice):
    moderation.claim_create(user=alice, project=entry, statement="core maintainer")
    with pytest.raises(moderation.ModerationError, match="already waiting"):
        moderation.claim_create(user=alice, project=entry, statement="core maintainer")


def test_the_repository_file_verifies_a_github_login(entry, alice, fake_github):
    from allauth.socialaccount.models import SocialAccount

    SocialAccount.objects.create(
        user=alice, provider="github", uid="42", extra_data={"login": "Alice-GH"}
    )
    fake_github.active(
        "acme/lightning",
        files={".github/landscape-maintainers": "# maintainers\n@someone\nalice-gh\n"},
    )
    claim = Claim.objects.create(user=alice, project=entry, statement="core maintainer")

    assert moderation.claim_verify_by_repository(claim=claim)

    claim.refresh_from_db()
    assert claim.state == "approved" and claim.verified_by_repository
    assert entry.maintainers.get().user == alice


def test_a_login_missing_from_the_repository_file_is_not_verified(entry, alice, fake_github):
    from allauth.socialaccount.models import SocialAccount

    SocialAccount.objects.create(
        user=alice, provider="github", uid="42", extra_data={"login": "alice"}
    )
    fake_github.active("acme/lightning", files={".github/landscape-maintainers": "bob\n"})
    claim = Claim.objects.create(user=alice, project=entry, statement="core maintainer")

    assert not moderation.claim_verify_by_repository(claim=claim)
    assert Claim.objects.get().state == "pending"


# --- Changes ------------------------------------------------------------------------------------


def test_a_maintainer_edits_directly_but_a_category_change_waits(entry, alice, categories):
    alice = maintainer_of(entry, alice)
    applied, held = moderation.project_change(
        project=entry,
        user=alice,
        changes={"description": "new text", "category": "training-graph"},
    )
    entry.refresh_from_db()
    assert applied == ["description"]
    assert entry.description == "new text"
    assert entry.category.slug == "training-general"  # unchanged until approved
    assert held.changes == {"category": "training-graph"}
    assert held.previous == {"category": "training-general"}


def test_a_maintainer_cannot_change_maturity_or_another_entry(entry, other_entry, alice):
    alice = maintainer_of(entry, alice)
    with pytest.raises(moderation.ModerationError, match="maturity"):
        moderation.project_change(project=entry, user=alice, changes={"maturity": "foundation"})
    with pytest.raises(PermissionError):
        moderation.project_change(project=other_entry, user=alice, changes={"description": "x"})
    entry.refresh_from_db()
    assert entry.maturity == ""


def test_approving_a_held_change_applies_it_and_mails_the_submitter(
    entry, alice, moderator, django_capture_on_commit_callbacks
):
    alice = maintainer_of(entry, alice)
    _, held = moderation.project_change(
        project=entry, user=alice, changes={"category": "training-graph"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        moderation.change_approve(request=held, reviewer=moderator)
    entry.refresh_from_db()
    assert entry.category.slug == "training-graph"
    assert "was approved" in mail.outbox[-1].subject


def test_a_submission_stays_off_the_public_site_until_approved(
    categories, alice, moderator, client, django_capture_on_commit_callbacks
):
    project = moderation.submission_create(
        user=alice,
        values={
            "name": "Newcomer",
            "homepage_url": "https://newcomer.example/",
            "category": "training-graph",
        },
    )
    assert project.publication == "pending"
    assert not Project.objects.published().filter(pk=project.pk).exists()
    assert client.get(f"/projects/{project.slug}/").status_code == 404
    assert ChangeRequest.objects.get().kind == "new"

    with django_capture_on_commit_callbacks(execute=True):
        moderation.change_approve(request=ChangeRequest.objects.get(), reviewer=moderator)
    assert client.get(f"/projects/{project.slug}/").status_code == 200
    assert mail.outbox[-1].to == ["alice@example.org"]


def test_a_rejected_submission_stays_unpublished(categories, alice, moderator):
    project = moderation.submission_create(
        user=alice,
        values={
            "name": "Spam",
            "homepage_url": "https://spam.example/",
            "category": "training-graph",
        },
    )
    moderation.change_reject(request=ChangeRequest.objects.get(), reviewer=moderator, reason="spam")
    project.refresh_from_db()
    assert project.publication == "rejected"


# --- Disputes and digests ----------------------------------------------------------------------


def open_finding(project, kind="archived_upstream", when=None):
    now = when or timezone.now()
    return Finding.objects.create(
        project=project,
        kind=kind,
        subject="repository",
        evidence={"words": ["archived on GitHub"]},
        first_seen=now,
        last_seen=now,
    )


def test_only_the_maintainer_can_contest_a_finding(entry, alice):
    finding = open_finding(entry)
    with pytest.raises(PermissionError):
        moderation.dispute_create(finding=finding, user=alice, statement="we moved to a fork")
    alice = maintainer_of(entry, alice)
    dispute = moderation.dispute_create(finding=finding, user=alice, statement="we moved to a fork")
    assert finding.disputes.get() == dispute


def test_the_findings_digest_goes_at_most_once_a_day(
    entry, alice, django_capture_on_commit_callbacks
):
    alice = maintainer_of(entry, alice)
    Maintainer.objects.update(created=timezone.now() - timedelta(days=3))
    open_finding(entry)
    with django_capture_on_commit_callbacks(execute=True):
        assert moderation.findings_digest_send() == 1
    assert "archived on GitHub" in mail.outbox[0].body

    open_finding(entry, kind="inactive")
    with django_capture_on_commit_callbacks(execute=True):
        assert moderation.findings_digest_send() == 0  # within a day
        later = timezone.now() + timedelta(days=1, minutes=1)
        assert moderation.findings_digest_send(now=later) == 1
    assert "Inactive" in mail.outbox[1].body or "inactive" in mail.outbox[1].body
    assert "archived on GitHub" in mail.outbox[1].body  # the new finding has the same words
    assert len(mail.outbox) == 2


# --- History -----------------------------------------------------------------------------------


def test_history_records_import_admin_and_worker_changes_with_authors(
    shared_data, moderator, client, tmp_path
):
    call_command(
        "import_landscape", str(shared_data / "landscape.yml"), "--user", "mod", stdout=StringIO()
    )
    p3d = Project.objects.get(slug="pytorch3d")
    client.force_login(moderator)
    data = {
        "name": p3d.name,
        "slug": p3d.slug,
        "description": "edited in the admin",
        "homepage_url": p3d.homepage_url,
        "repo_url": p3d.repo_url,
        "category": p3d.category_id,
        "maturity": p3d.maturity,
        "publication": "published",
        "position": p3d.position,
        "additional_repos": "[]",
        "other_links": "[]",
        "tags": "[]",
        "landscape_extra": "{}",
        "secondarycategory_set-TOTAL_FORMS": "0",
        "secondarycategory_set-INITIAL_FORMS": "0",
        "maintainers-TOTAL_FORMS": "0",
        "maintainers-INITIAL_FORMS": "0",
        "alternatives_proposed-TOTAL_FORMS": "0",
        "alternatives_proposed-INITIAL_FORMS": "0",
    }
    response = client.post(f"/admin/projects/project/{p3d.pk}/change/", data)
    assert response.status_code == 302, response.content[:2000]

    from api.services import token_create

    maintainer = User.objects.create_user("maint", "maint@example.org", "pw-maint-123456")
    Maintainer.objects.create(project=p3d, user=maintainer, verified=True)
    _, key = token_create(user=maintainer, name="release CI")
    response = client.generic(
        "PATCH",
        f"/api/v1/projects/{p3d.slug}/",
        '{"description": "edited through the API"}',
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {key}",
    )
    assert response.status_code == 200, response.content

    finding = open_finding(p3d, kind="listed_archived_but_active")
    Finding.objects.filter(pk=finding.pk).update(
        suggestion={"action": "unarchive", "field": "maturity"}
    )
    finding.refresh_from_db()
    status.finding_apply(finding=finding, user=moderator)

    history = list(p3d.history.order_by("history_date"))
    assert [h.history_type for h in history] == ["+", "~", "~", "~"]
    assert [h.history_user for h in history] == [moderator, moderator, maintainer, moderator]
    assert history[0].history_change_reason == "import_landscape"
    assert history[1].description == "edited in the admin"
    assert history[2].description == "edited through the API"
    assert history[3].maturity == ""
    assert "applied finding" in history[3].history_change_reason
