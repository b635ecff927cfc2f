"""The admin as a maintainer sees it: their own entries' editable fields, nothing else."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile

from projects import moderation
from projects.models import Category, ChangeRequest, Maintainer, Project
from tests.admin_forms import maintainer_change_form

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def categories():
    pillar = Category.objects.create(name="Training", slug="training")
    return (
        Category.objects.create(name="General", slug="training-general", parent=pillar),
        Category.objects.create(name="Graph", slug="training-graph", parent=pillar),
    )


@pytest.fixture
def own(categories):
    return Project.objects.create(
        name="Own",
        slug="own",
        homepage_url="https://own.example/",
        category=categories[0],
        description="before",
    )


@pytest.fixture
def foreign(categories):
    return Project.objects.create(
        name="Foreign",
        slug="foreign",
        homepage_url="https://foreign.example/",
        category=categories[0],
        description="theirs",
    )


@pytest.fixture
def maintainer(own):
    user = User.objects.create_user("maint", "maint@example.org", "pw-maint-123456")
    Maintainer.objects.create(project=own, user=user, verified=True)
    moderation.maintainers_group().user_set.add(user)
    User.objects.filter(pk=user.pk).update(is_staff=True)
    return User.objects.get(pk=user.pk)


@pytest.fixture
def moderator():
    user = User.objects.create_user("mod", "mod@example.org", "pw-mod-123456", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="moderate_project"))
    return User.objects.get(pk=user.pk)


def edit_form(project, **changes):
    return maintainer_change_form(project, **changes)


def test_the_changelist_shows_only_their_own_entries(client, maintainer, own, foreign):
    client.force_login(maintainer)
    response = client.get("/admin/projects/project/")
    assert response.status_code == 200
    assert list(response.context["cl"].queryset) == [own]


def test_another_entrys_change_page_is_forbidden(client, maintainer, foreign):
    client.force_login(maintainer)
    assert client.get(f"/admin/projects/project/{foreign.pk}/change/").status_code == 403
    response = client.post(
        f"/admin/projects/project/{foreign.pk}/change/", edit_form(foreign, description="mine!")
    )
    assert response.status_code == 403
    foreign.refresh_from_db()
    assert foreign.description == "theirs"
    assert client.get(f"/admin/projects/project/{foreign.pk}/history/").status_code == 403


def test_a_maintainer_edits_the_description_and_the_category_waits(
    client, maintainer, own, categories
):
    client.force_login(maintainer)
    response = client.post(
        f"/admin/projects/project/{own.pk}/change/",
        edit_form(own, description="after", category=categories[1].pk, maturity="foundation"),
    )
    assert response.status_code == 302
    own.refresh_from_db()
    assert own.description == "after"
    assert own.category == categories[0]  # waits for review
    assert own.maturity == ""  # read-only for maintainers
    change = ChangeRequest.objects.get()
    assert (change.state, change.changes) == ("pending", {"category": "training-graph"})
    assert own.history.first().history_user == maintainer


def test_maintainers_cannot_reach_staff_models(client, maintainer):
    client.force_login(maintainer)
    for url in (
        "/admin/projects/finding/",
        "/admin/projects/claim/",
        "/admin/projects/category/",
        "/admin/projects/project/add/",
        "/admin/auth/user/",
    ):
        assert client.get(url).status_code == 403, url


def test_an_unsafe_logo_upload_is_refused(client, maintainer, own):
    client.force_login(maintainer)
    svg = SimpleUploadedFile(
        "logo.svg",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        content_type="image/svg+xml",
    )
    response = client.post(
        f"/admin/projects/project/{own.pk}/change/", {**edit_form(own), "logo": svg}
    )
    assert response.status_code == 200
    assert "This logo is refused" in response.content.decode()
    own.refresh_from_db()
    assert not own.logo


def test_staff_see_the_queue_with_a_diff_and_approve(
    client, maintainer, moderator, own, categories
):
    moderation.project_change(project=own, user=maintainer, changes={"category": "training-graph"})
    change = ChangeRequest.objects.get()
    client.force_login(moderator)

    page = client.get(f"/admin/projects/changerequest/{change.pk}/change/").content.decode()
    assert "<del>training-general</del>" in page and "<ins>training-graph</ins>" in page

    response = client.post(
        "/admin/projects/changerequest/",
        {"action": "approve", "_selected_action": [change.pk]},
    )
    assert response.status_code == 302
    own.refresh_from_db()
    assert own.category == categories[1]


def test_a_rejection_asks_for_a_reason_first(client, maintainer, moderator, own):
    moderation.project_change(project=own, user=maintainer, changes={"name": "Renamed"})
    change = ChangeRequest.objects.get()
    client.force_login(moderator)
    form = client.post(
        "/admin/projects/changerequest/", {"action": "reject", "_selected_action": [change.pk]}
    )
    assert form.status_code == 200 and "Reason" in form.content.decode()
    client.post(
        "/admin/projects/changerequest/",
        {"action": "reject", "_selected_action": [change.pk], "confirm": "1", "reason": "no"},
    )
    change.refresh_from_db()
    assert (change.state, change.reason) == ("rejected", "no")
    own.refresh_from_db()
    assert own.name == "Own"


def test_only_staff_may_revert_from_history(client, maintainer, moderator, own):
    own.description = "second"
    own.save()
    first = own.history.order_by("history_date").first()
    client.force_login(maintainer)
    page = client.get(f"/admin/projects/project/{own.pk}/history/{first.history_id}/")
    assert page.status_code in (200, 403)
    if page.status_code == 200:
        assert page.context["revert_disabled"] is True
    client.force_login(moderator)
    page = client.get(f"/admin/projects/project/{own.pk}/history/{first.history_id}/")
    assert page.status_code == 200 and page.context["revert_disabled"] is False
