"""A maintainer's whole journey in Debian's Chromium: sign up, verify the email, claim an
entry, get approved by staff, edit the description in the admin, see it on the public page."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from projects.models import Category, Claim, Maintainer, Project

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-maintainer-passphrase-42"
STAFF_PASSWORD = "a-long-staff-passphrase-42"


@pytest.fixture
def entry():
    pillar = Category.objects.create(name="Training", slug="training")
    sub = Category.objects.create(name="General", slug="training-general", parent=pillar)
    return Project.objects.create(
        name="Torchtune",
        slug="torchtune",
        homepage_url="https://torchtune.example/",
        category=sub,
        description="Fine-tuning recipes.",
    )


@pytest.fixture
def staff():
    return get_user_model().objects.create_superuser("staff", "staff@example.org", STAFF_PASSWORD)


def confirmation_link(address: str) -> str:
    message = next(m for m in reversed(mail.outbox) if address in m.to)
    return re.search(r"https?://\S+/accounts/confirm-email/\S+/", message.body).group(0)


def test_sign_up_verify_claim_approve_edit_and_publish(browser, live_server, entry, staff, page):
    # 1. Sign up.
    page.goto("/accounts/signup/")
    page.fill("input[name=email]", "maya@example.org")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.get_by_role("button", name=re.compile("sign up", re.I)).click()
    page.wait_for_url(re.compile(r"/accounts/confirm-email/$"))
    assert mail.outbox, "a verification email was sent"

    # 2. Verify the email with the link read from the outbox.
    link = confirmation_link("maya@example.org").replace("http://testserver", live_server.url)
    page.goto(link[link.index("/accounts/") :])
    page.get_by_role("button", name=re.compile("confirm", re.I)).click()
    user = get_user_model().objects.get(email="maya@example.org")
    assert user.emailaddress_set.get().verified

    # 3. Sign in (if confirming did not) and claim the entry from its page.
    page.goto("/accounts/login/")
    if "/accounts/login/" in page.url:
        page.fill("input[name=login]", "maya@example.org")
        page.fill("input[name=password]", PASSWORD)
        page.get_by_role("button", name=re.compile("sign in", re.I)).click()
    page.goto(f"/projects/{entry.slug}/")
    page.get_by_role("link", name="Maintain this entry").click()
    page.fill("textarea[name=statement]", "I cut the releases and review most pull requests.")
    page.get_by_role("button", name="Send the claim").click()
    page.wait_for_url(re.compile(r"/accounts/me/$"))
    assert "pending" in page.locator("#claims-h + table").inner_text().lower()
    assert Claim.objects.get(user=user).state == "pending"

    # 4. Staff approve the claim in the admin, in a browser of their own.
    staff_context = browser.new_context(base_url=live_server.url)
    staff_page = staff_context.new_page()
    staff_page.goto("/admin/login/")
    staff_page.fill("input[name=username]", "staff")
    staff_page.fill("input[name=password]", STAFF_PASSWORD)
    staff_page.get_by_role("button", name=re.compile("log in", re.I)).click()
    staff_page.goto("/admin/projects/claim/")
    staff_page.locator("input[name=_selected_action]").first.check()
    staff_page.select_option("select[name=action]", "approve")
    staff_page.get_by_role("button", name="Go").click()
    staff_page.wait_for_selector("text=Claims approved: 1 done")
    staff_context.close()
    assert Maintainer.objects.get(project=entry).user == user

    # 5. The maintainer edits the description in /admin/.
    page.goto(f"/admin/projects/project/{entry.pk}/change/")
    page.fill("textarea[name=description]", "Recipes to fine-tune LLMs with PyTorch.")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_selector("text=was changed successfully")

    # 6. The public page shows the new text, to anyone.
    public = browser.new_context(base_url=live_server.url).new_page()
    public.goto(f"/projects/{entry.slug}/")
    assert public.locator(".entry-description").inner_text() == (
        "Recipes to fine-tune LLMs with PyTorch."
    )
    public.context.close()


def test_a_maintainer_cannot_open_another_entrys_admin_page(browser, live_server, entry, page):
    pillar = Category.objects.get(slug="training")
    other = Project.objects.create(
        name="Other",
        slug="other",
        homepage_url="https://other.example/",
        category=pillar.children.get(),
    )
    user = get_user_model().objects.create_user("ana", "ana@example.org", PASSWORD, is_staff=True)
    Maintainer.objects.create(project=entry, user=user, verified=True)
    from projects.moderation import maintainers_group

    maintainers_group().user_set.add(user)

    page.goto("/admin/login/")
    page.fill("input[name=username]", "ana")
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name=re.compile("log in", re.I)).click()
    response = page.goto(f"/admin/projects/project/{other.pk}/change/")
    assert response.status == 403
    response = page.goto(f"/admin/projects/project/{entry.pk}/change/")
    assert response.status == 200
