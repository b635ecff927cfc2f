"""Alternatives link two entries on both pages, so a maintainer only proposes one: it links
when a maintainer of the other entry (or staff) accepts, both entries' history records it,
and no choice offered lists an unpublished entry."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core import mail
from django.test import Client

from api.services import token_create
from projects import moderation
from projects.alternatives import (
    alternative_accept,
    alternative_decline,
    alternative_propose,
    alternative_remove,
)
from projects.models import AlternativeProposal, Category, Project, Publication
from tests.admin_forms import maintainer_change_form

pytestmark = pytest.mark.django_db
User = get_user_model()
State = AlternativeProposal.State


@pytest.fixture
def category():
    pillar = Category.objects.create(name="Modeling", slug="modeling")
    return Category.objects.create(name="Vision", slug="modeling-vision", parent=pillar)


def _entry(category, name: str, **extra) -> Project:
    return Project.objects.create(
        name=name,
        slug=name.lower(),
        homepage_url=f"https://{name.lower()}.example/",
        category=category,
        **extra,
    )


def _maintainer(project: Project, username: str):
    user = User.objects.create_user(username, f"{username}@example.org", f"pw-{username}-12345")
    moderation._make_maintainer(user=user, project=project, verified=True)
    return User.objects.get(pk=user.pk)


@pytest.fixture
def world(category):
    kornia = _entry(category, "Kornia")
    captum = _entry(category, "Captum")
    gamma = _entry(category, "Gamma")
    # Someone else's submission, waiting for review: nobody else may see its name or id.
    secret = _entry(category, "Secretsub", publication=Publication.PENDING)
    staff = User.objects.create_user("staff", "staff@example.org", "pw-staff-12345", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="moderate_project"))
    return {
        "kornia": kornia,
        "captum": captum,
        "gamma": gamma,
        "secret": secret,
        "kornia_maintainer": _maintainer(kornia, "kmaint"),
        "captum_maintainer": _maintainer(captum, "cmaint"),
        "gamma_maintainer": _maintainer(gamma, "gmaint"),
        "secret_submitter": _maintainer(secret, "submitter"),
        "staff": User.objects.get(pk=staff.pk),
    }


def alternatives_on_page(project: Project) -> list[str]:
    """The slugs in the Alternatives section of the entry's public page."""
    body = Client().get(project.get_absolute_url()).content.decode()
    start = body.find('id="h-alternatives"')
    if start < 0:
        return []
    return re.findall(r'data-slug="([^"]+)"', body[start : body.index("</section>", start)])


def linked(project: Project) -> list[str]:
    return sorted(project.alternatives.values_list("slug", flat=True))


def change_form(project: Project, **extra) -> dict:
    """The maintainer's change form of ``project``, unchanged, plus ``extra``."""
    return maintainer_change_form(project, **extra)


def propose_in_admin(client, project: Project, slug: str):
    return client.post(
        f"/admin/projects/project/{project.pk}/change/",
        change_form(
            project,
            **{
                "alternatives_proposed-TOTAL_FORMS": "1",
                "alternatives_proposed-0-to_project": slug,
            },
        ),
    )


def decide_in_admin(client, proposal: AlternativeProposal, action: str):
    return client.post(
        "/admin/projects/alternativeproposal/",
        {"action": action, "_selected_action": [proposal.pk]},
    )


def autocomplete(client, field: str, term: str) -> list[str]:
    response = client.get(
        "/admin/autocomplete/",
        {"app_label": "projects", "model_name": "project", "field_name": field, "term": term},
    )
    assert response.status_code == 200
    return [row["id"] for row in response.json()["results"]]


def last_reason(project: Project) -> tuple[str, str | None]:
    record = project.history.order_by("-history_date", "-history_id").first()
    return record.history_change_reason or "", getattr(record.history_user, "username", None)


# --- A maintainer cannot write onto another entry ------------------------------------------


def test_a_maintainer_cannot_link_another_entry_from_the_admin_form(client, world):
    kornia, captum = world["kornia"], world["captum"]
    history_before = captum.history.count()
    client.force_login(world["kornia_maintainer"])
    response = client.post(
        f"/admin/projects/project/{kornia.pk}/change/",
        change_form(kornia, alternatives=[captum.pk], description="kornia, edited"),
    )
    assert response.status_code == 302
    kornia.refresh_from_db()
    assert kornia.description == "kornia, edited"  # the rest of the form was saved
    assert linked(kornia) == [] and linked(captum) == []
    assert alternatives_on_page(captum) == []
    assert captum.history.count() == history_before


def test_a_maintainer_cannot_link_another_entry_through_the_api(world):
    kornia, captum = world["kornia"], world["captum"]
    _, key = token_create(user=world["kornia_maintainer"], name="ci")
    for value in (["captum"], [captum.pk]):
        response = Client().patch(
            f"/api/v1/projects/{kornia.slug}/",
            json.dumps({"alternatives": value}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Token {key}",
        )
        assert response.status_code == 400, response.content
        assert "proposes" in response.json()["alternatives"][0]
    assert linked(kornia) == [] and linked(captum) == []


def test_the_services_refuse_a_direct_change_of_alternatives_by_a_maintainer(world):
    with pytest.raises(moderation.ModerationError, match="alternatives"):
        moderation.project_change(
            project=world["kornia"],
            user=world["kornia_maintainer"],
            changes={"alternatives": ["captum"]},
        )
    assert linked(world["captum"]) == []


# --- Propose, accept -------------------------------------------------------------------------


def test_a_proposal_links_only_once_the_other_entrys_maintainer_accepts(
    client, world, django_capture_on_commit_callbacks
):
    kornia, captum = world["kornia"], world["captum"]
    client.force_login(world["kornia_maintainer"])
    with django_capture_on_commit_callbacks(execute=True):
        response = propose_in_admin(client, kornia, "captum")
    assert response.status_code == 302, response.content[:3000]
    proposal = AlternativeProposal.objects.get()
    assert (proposal.from_project, proposal.to_project, proposal.state) == (
        kornia,
        captum,
        State.PROPOSED,
    )
    assert proposal.proposed_by == world["kornia_maintainer"]
    assert [m.to for m in mail.outbox] == [["cmaint@example.org"]]
    # Kornia's page in the admin lists it, read-only.
    page = client.get(f"/admin/projects/project/{kornia.pk}/change/").content.decode()
    assert "Captum as an alternative to Kornia" in page
    # Nothing changed on either page until Captum's side answers.
    assert linked(captum) == [] and alternatives_on_page(captum) == []

    # Neither the proposer nor an unrelated maintainer may accept it.
    response = decide_in_admin(client, proposal, "accept")
    assert response.status_code == 302
    client.force_login(world["gamma_maintainer"])
    decide_in_admin(client, proposal, "accept")
    for user in (world["kornia_maintainer"], world["gamma_maintainer"]):
        with pytest.raises(PermissionError):
            alternative_accept(proposal=proposal, user=user)
    proposal.refresh_from_db()
    assert proposal.state == State.PROPOSED and linked(captum) == []

    # Captum's maintainer sees it and accepts: both pages list the other.
    client.force_login(world["captum_maintainer"])
    listing = client.get("/admin/projects/alternativeproposal/")
    assert list(listing.context["cl"].queryset) == [proposal]
    assert decide_in_admin(client, proposal, "accept").status_code == 302
    proposal.refresh_from_db()
    assert (proposal.state, proposal.decided_by) == (State.ACCEPTED, world["captum_maintainer"])
    assert alternatives_on_page(captum) == ["kornia"]
    assert alternatives_on_page(kornia) == ["captum"]

    # Both entries' history records the link, by the maintainer who accepted.
    reason, user = last_reason(captum)
    assert (user, "alternative linked: Kornia" in reason) == ("cmaint", True), reason
    reason, user = last_reason(kornia)
    assert (user, "alternatives linked: Captum" in reason) == ("cmaint", True), reason


def test_staff_accept_and_a_maintainer_of_either_side_unlinks(client, world):
    kornia, captum = world["kornia"], world["captum"]
    proposal = alternative_propose(
        project=kornia, alternative=captum, user=world["kornia_maintainer"]
    )
    alternative_accept(proposal=proposal, user=world["staff"])
    assert linked(captum) == ["kornia"]
    assert last_reason(captum)[1] == "staff"

    client.force_login(world["kornia_maintainer"])
    proposal.refresh_from_db()
    assert decide_in_admin(client, proposal, "unlink").status_code == 302
    assert linked(captum) == [] and alternatives_on_page(captum) == []
    proposal.refresh_from_db()
    assert proposal.state == State.REMOVED
    for project, other in ((captum, "Kornia"), (kornia, "Captum")):
        reason, user = last_reason(project)
        assert user == "kmaint" and f"unlinked: {other}" in reason, reason

    # An unrelated maintainer can neither unlink nor decline others' links and proposals.
    again = alternative_propose(project=captum, alternative=kornia, user=world["captum_maintainer"])
    with pytest.raises(PermissionError):
        alternative_decline(proposal=again, user=world["gamma_maintainer"])
    alternative_accept(proposal=again, user=world["kornia_maintainer"])
    with pytest.raises(PermissionError):
        alternative_remove(project=kornia, alternative=captum, user=world["gamma_maintainer"])
    assert linked(kornia) == ["captum"]


def test_declined_and_withdrawn_proposals_link_nothing(world):
    kornia, captum, gamma = world["kornia"], world["captum"], world["gamma"]
    declined = alternative_propose(
        project=kornia, alternative=captum, user=world["kornia_maintainer"]
    )
    assert alternative_decline(proposal=declined, user=world["captum_maintainer"]).state == (
        State.DECLINED
    )
    withdrawn = alternative_propose(
        project=kornia, alternative=gamma, user=world["kornia_maintainer"]
    )
    assert alternative_decline(proposal=withdrawn, user=world["kornia_maintainer"]).state == (
        State.WITHDRAWN
    )
    with pytest.raises(moderation.ModerationError, match="already declined"):
        alternative_accept(proposal=declined, user=world["captum_maintainer"])
    assert linked(kornia) == []


def test_proposing_back_what_the_other_side_proposed_links_them(world):
    kornia, captum = world["kornia"], world["captum"]
    alternative_propose(project=kornia, alternative=captum, user=world["kornia_maintainer"])
    proposal = alternative_propose(
        project=captum, alternative=kornia, user=world["captum_maintainer"]
    )
    assert (proposal.from_project, proposal.state) == (kornia, State.ACCEPTED)
    assert linked(kornia) == ["captum"]
    assert AlternativeProposal.objects.count() == 1


def test_a_second_proposal_and_unpublished_entries_are_refused(world):
    kornia, captum, secret = world["kornia"], world["captum"], world["secret"]
    alternative_propose(project=kornia, alternative=captum, user=world["kornia_maintainer"])
    with pytest.raises(moderation.ModerationError, match="already proposed"):
        alternative_propose(project=kornia, alternative=captum, user=world["kornia_maintainer"])
    with pytest.raises(moderation.ModerationError, match="no published entry"):
        alternative_propose(project=kornia, alternative=secret, user=world["kornia_maintainer"])
    with pytest.raises(moderation.ModerationError, match="not published"):
        alternative_propose(project=secret, alternative=kornia, user=world["secret_submitter"])
    with pytest.raises(PermissionError):
        alternative_propose(project=captum, alternative=kornia, user=world["kornia_maintainer"])
    assert AlternativeProposal.objects.count() == 1


# --- Staff ---------------------------------------------------------------------------------


def test_a_staff_edit_in_the_admin_is_recorded_on_both_entries(client, world):
    kornia, captum = world["kornia"], world["captum"]
    client.force_login(world["staff"])
    page = client.get(f"/admin/projects/project/{kornia.pk}/change/")
    form = page.context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if name in form.fields and value is not None and name not in ("logo", "alternatives")
    }
    data.update(
        {
            "category": kornia.category_id,
            "other_links": "[]",
            "tags": "[]",
            "additional_repos": "[]",
            "landscape_extra": "{}",
            "alternatives": [captum.pk],
            "secondarycategory_set-TOTAL_FORMS": "0",
            "secondarycategory_set-INITIAL_FORMS": "0",
            "maintainers-TOTAL_FORMS": "0",
            "maintainers-INITIAL_FORMS": "0",
            "alternatives_proposed-TOTAL_FORMS": "0",
            "alternatives_proposed-INITIAL_FORMS": "0",
        }
    )
    response = client.post(f"/admin/projects/project/{kornia.pk}/change/", data)
    assert response.status_code == 302, response.content[:3000]
    assert linked(captum) == ["kornia"]
    assert last_reason(captum) == ("alternative linked: Kornia", "staff")
    assert last_reason(kornia) == ("alternatives linked: Captum", "staff")
    # The link has its accepted row, so that either side's maintainers can unlink it.
    row = AlternativeProposal.objects.get()
    assert (row.state, row.decided_by) == (State.ACCEPTED, world["staff"])


# --- No choice lists an unpublished entry ------------------------------------------------------


def test_the_admin_offers_published_entries_only(client, world):
    kornia, secret = world["kornia"], world["secret"]
    client.force_login(world["staff"])
    page = client.get(f"/admin/projects/project/{kornia.pk}/change/")
    choices = page.context["adminform"].form.fields["alternatives"].queryset
    assert secret not in choices and world["captum"] in choices
    assert autocomplete(client, "alternatives", "Secretsub") == []
    assert autocomplete(client, "alternatives", "Captum") == [str(world["captum"].pk)]

    client.force_login(world["kornia_maintainer"])
    page = client.get(f"/admin/projects/project/{kornia.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Secretsub" not in html and f'value="{secret.pk}"' not in html
    # The admin's autocomplete answers with their own entries only.
    assert autocomplete(client, "alternatives", "Secretsub") == []
    assert autocomplete(client, "alternatives", "Captum") == []
    # The category is a subcategory (a pillar would be refused when staff approve).
    categories = page.context["adminform"].form.fields["category"].queryset
    assert list(categories) == [kornia.category]
    # Naming it anyway is refused like an unknown entry, and nothing is proposed.
    response = propose_in_admin(client, kornia, "secretsub")
    assert response.status_code == 200
    assert "No published entry has the slug secretsub." in response.content.decode()
    assert not AlternativeProposal.objects.exists()


def test_a_maintainer_sees_only_proposals_of_their_own_entries(client, world):
    kornia, captum, gamma = world["kornia"], world["captum"], world["gamma"]
    mine = alternative_propose(project=kornia, alternative=captum, user=world["kornia_maintainer"])
    alternative_propose(project=captum, alternative=gamma, user=world["captum_maintainer"])
    client.force_login(world["kornia_maintainer"])
    listing = client.get("/admin/projects/alternativeproposal/")
    assert list(listing.context["cl"].queryset) == [mine]
    assert "Gamma" not in listing.content.decode()
    others = AlternativeProposal.objects.exclude(pk=mine.pk).get()
    assert client.get(f"/admin/projects/alternativeproposal/{others.pk}/change/").status_code in (
        302,
        403,
    )
