"""The public pages through Django's test client: what they show, what they hide, and
that every filter, sort and view means what it says."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from projects import selectors
from projects.models import (
    Finding,
    LinkStatus,
    Maintainer,
    Project,
    RepositoryStatus,
    SecondaryCategory,
    Snapshot,
)
from projects.templatetags.landscape import (
    MONOGRAM_COLOURS,
    monogram,
    monogram_colour,
    monogram_index,
)

TILE = re.compile(r'<li class="tile[ "]')


def tiles(response) -> list[str]:
    """Slugs of the tiles a page shows, in order."""
    return re.findall(r'<li class="tile[^"]*"[^>]*data-slug="([^"]+)"', response.content.decode())


@pytest.fixture
def archived(tree):
    return Project.objects.create(
        name="OldTorch",
        slug="oldtorch",
        description="An archived toolkit",
        homepage_url="https://old.example.org/",
        category=tree["vision"],
        maturity="archived",
        health="archived",
    )


# --- The landscape ---------------------------------------------------------------------------


def test_landscape_shows_pillars_then_foundation_then_members(client, tree):
    for name, category, maturity in [
        ("Vision Kit", tree["vision"], ""),
        ("PyTorch Core", tree["foundation"], "foundation"),
        ("Big Member (member)", tree["platinum"], ""),
        ("Trainer", tree["general"], ""),
    ]:
        Project.objects.create(
            name=name,
            slug=name.split()[0].lower(),
            homepage_url="https://e.example.org/",
            category=category,
            maturity=maturity,
        )
    body = client.get("/").content.decode()
    order = [
        body.index(s)
        for s in ("Modeling", "Training", "Foundation-hosted projects", "Platinum members")
    ]
    assert order == sorted(order)
    assert body.index("Vision Kit") < body.index("Trainer") < body.index("PyTorch Core")
    assert body.index("PyTorch Core") < body.index("Big Member")
    # Landmarks and a labelled search.
    assert '<main id="main"' in body
    assert 'role="search"' in body
    assert '<label for="id_q">' in body


def test_archived_entries_are_hidden_behind_a_counted_toggle(client, entry, archived):
    response = client.get("/")
    assert tiles(response) == ["torchthing"]
    assert "Show archived (1)" in response.content.decode()
    shown = client.get("/?show_archived=1")
    assert sorted(tiles(shown)) == ["oldtorch", "torchthing"]
    assert 'id="id_show_archived" name="show_archived" value="1" checked' in shown.content.decode()


def test_tile_shows_logo_or_a_stable_monogram_and_a_health_mark(client, entry):
    body = client.get("/").content.decode()
    assert 'class="health-mark health-unknown"' in body
    # Tiles carry a text monogram coloured by class (tests/web/test_tiles.py), not an SVG.
    mono = monogram_index("TorchThing")
    assert f'<span class="tile-logo monogram mono-{mono}" aria-hidden="true">To</span>' in body


def test_monogram_colour_is_stable_and_from_the_palette():
    assert monogram_colour("PyTorch Lightning") == monogram_colour("pytorch lightning ")
    assert monogram_colour("PyTorch Lightning") in MONOGRAM_COLOURS
    assert len({monogram_colour(f"name {i}") for i in range(200)}) == len(MONOGRAM_COLOURS)
    assert ">PL</text>" in monogram("PyTorch Lightning")
    assert "<script" not in monogram("<script>")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("category=modeling", ["entry-0000", "entry-0001", "entry-0004", "entry-0005"]),
        ("category=training-general", ["entry-0002", "entry-0006"]),
        ("health=active", ["entry-0000", "entry-0005"]),
        ("health=active&health=missing", ["entry-0000", "entry-0004", "entry-0005"]),
        ("maturity=graduated", ["entry-0002", "entry-0006"]),
        (
            "maturity=none&category=modeling",
            ["entry-0000", "entry-0001", "entry-0004", "entry-0005"],
        ),
        ("license=Apache-2.0", ["entry-0000", "entry-0002", "entry-0004", "entry-0006"]),
        ("show_archived=1&maturity=archived", ["entry-0003", "entry-0007"]),
        ("maturity=bogus&health=active", ["entry-0000", "entry-0005"]),
    ],
)
def test_filters(client, make_entries, query, expected):
    make_entries(8)
    assert sorted(tiles(client.get(f"/?{query}"))) == expected


def test_findings_filter_and_its_facet(client, make_entries):
    projects = make_entries(4)
    now = timezone.now()
    Finding.objects.create(project=projects[1], kind="inactive", first_seen=now, last_seen=now)
    Finding.objects.create(
        project=projects[2], kind="inactive", state="resolved", first_seen=now, last_seen=now
    )
    assert tiles(client.get("/?findings=open")) == ["entry-0001"]
    assert sorted(tiles(client.get("/?findings=none"))) == ["entry-0000", "entry-0002"]
    assert "With open findings (1)" in client.get("/").content.decode()


def test_facet_counts_apply_the_other_filters(client, make_entries):
    make_entries(8)
    body = client.get("/?category=modeling&health=active").content.decode()
    # Health counts within Modeling (not archived): entries 0 (active), 1 (inactive), 4
    # (missing), 5 (active).
    assert re.search(
        r'id="id_health_active"[^>]*checked>\s*<label[^>]*>.*?active <span '
        r'class="count">2</span>',
        body,
        re.S,
    )
    assert re.search(r'for="id_health_missing".*?missing <span class="count">1</span>', body, re.S)
    # Category counts with the health filter but not the category one: 2 active (0, 5).
    assert ">Modeling (2)</option>" in body


def test_sorts(client, make_entries):
    make_entries(5)
    assert tiles(client.get("/?sort=stars")) == [
        "entry-0004",
        "entry-0002",
        "entry-0001",
        "entry-0000",
    ]
    assert tiles(client.get("/?sort=name")) == [
        "entry-0000",
        "entry-0001",
        "entry-0002",
        "entry-0004",
    ]
    # Latest activity: entry i pushed i days ago.
    assert tiles(client.get("/?sort=activity"))[0] == "entry-0000"
    Project.objects.filter(slug="entry-0001").update(created=timezone.now() + timedelta(days=1))
    assert tiles(client.get("/?sort=added"))[0] == "entry-0001"


def test_search_ranks_and_highlights(client, entry, tree):
    Project.objects.create(
        name="Imaging Thing",
        slug="imaging-thing",
        homepage_url="https://i.example.org/",
        category=tree["general"],
        description="Generic",
    )
    response = client.get("/?q=imaging")
    assert tiles(response)[0] == "imaging-thing"
    assert "torchthing" in tiles(response)
    assert "<mark>Imaging</mark> Thing" in response.content.decode()


def test_list_view_shows_descriptions(client, entry):
    assert "Medical imaging toolkit" not in client.get("/").content.decode()
    body = client.get("/?view=list").content.decode()
    assert "tiles-list" in body
    assert "Medical imaging toolkit" in body


def test_htmx_request_gets_results_and_out_of_band_counts_only(client, entry, archived):
    response = client.get("/?q=toolkit", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body
    assert tiles(response) == ["torchthing"]
    assert 'id="facet-panel"' in body
    assert 'hx-swap-oob="true"' in body
    assert 'id="result-count" hx-swap-oob="innerHTML"' in body
    assert response["Vary"]
    assert "HX-Request" in response["Vary"]


def test_the_form_works_without_javascript(client, entry):
    body = client.get("/").content.decode()
    form = re.search(r'<form id="filters"[^>]*>', body).group(0)
    assert 'method="get"' in form
    assert 'action="/"' in form
    assert 'hx-get="/"' in form
    assert 'hx-push-url="true"' in form
    assert '<button type="submit"' in body


def test_output_is_escaped_everywhere(client, tree):
    evil = Project.objects.create(
        name='<script>alert("x")</script>',
        slug="evil",
        homepage_url="https://e.example.org/",
        description="<img src=x onerror=alert(1)>",
        category=tree["vision"],
    )
    for url in [
        "/",
        "/?q=script",
        "/?view=list",
        evil.get_absolute_url(),
        "/feed.atom",
        "/embed/modeling-computer-vision/",
        "/?q=%3Cscript%3E",
    ]:
        body = client.get(url).content.decode()
        assert "<script>alert" not in body, url
        assert "<img src=x" not in body, url


def test_no_inline_scripts_and_no_cdn(client, entry):
    for url in ["/", entry.get_absolute_url(), "/stats/"]:
        body = client.get(url).content.decode()
        for tag in re.findall(r"<script[^>]*>", body):
            assert "src=" in tag, (url, tag)
        assets = re.findall(r'<(?:script|img)[^>]* src="([^"]+)"', body)
        assets += re.findall(r'<link[^>]* href="([^"]+)"', body)
        assert assets
        for ref in assets:
            assert ref.startswith("/"), (url, ref)
            assert not ref.startswith("//"), (url, ref)
        assert " on" + "click=" not in body
        assert "style=" not in body


def test_htmx_is_served_by_the_app(client, settings, db):
    body = client.get("/").content.decode()
    src = re.search(r'<script src="([^"]*htmx[^"]*)"', body).group(1)
    assert src.startswith(settings.STATIC_URL)
    from django.contrib.staticfiles import finders

    assert finders.find(src.removeprefix(settings.STATIC_URL))


# --- A project page ----------------------------------------------------------------------


@pytest.fixture
def observed(entry, tree):
    now = timezone.now()
    repo = RepositoryStatus.objects.create(
        project=entry,
        url=entry.repo_url,
        host="github.com",
        owner="example",
        name="torchthing",
        stars=1234,
        forks=56,
        license="BSD-3-Clause",
        pushed_at=now - timedelta(days=400),
        last_release_at=now - timedelta(days=500),
        checked_at=now - timedelta(hours=3),
        health="inactive",
    )
    Project.objects.filter(pk=entry.pk).update(health="inactive")
    for i, stars in enumerate([1000, 1100, 1234]):
        Snapshot.objects.create(
            repository=repo,
            day=date.today() - timedelta(days=30 * (2 - i)),
            stars=stars,
            health="inactive",
        )
    LinkStatus.objects.create(
        project=entry,
        kind="homepage",
        url=entry.homepage_url,
        ok=True,
        status_code=200,
        checked_at=now,
    )
    LinkStatus.objects.create(
        project=entry,
        kind="documentation",
        url="https://docs.example.org/",
        ok=False,
        status_code=404,
        checked_at=now,
    )
    Finding.objects.create(
        project=entry, kind="inactive", subject=entry.repo_url, first_seen=now, last_seen=now
    )
    return repo


def test_project_page_shows_repository_facts_health_evidence_and_links(client, entry, observed):
    body = client.get(entry.get_absolute_url()).content.decode()
    assert '<h1 id="entry-title">TorchThing</h1>' in body
    assert "1,234" in body
    assert ">56<" in body
    assert "BSD-3-Clause" in body
    last_push = observed.pushed_at.date().isoformat()
    assert f"no commit or release since {last_push}" in body
    assert "Checked <time" in body
    assert "3\xa0hours ago" in body
    assert "(HTTP 404)" in body
    assert "(HTTP 200)" in body
    assert "Open findings" in body
    assert "Inactive" in body
    assert '<svg class="sparkline"' in body
    assert "Stars from 1,000" in body
    assert "Modeling / Medical &amp; Biology" in body


def test_health_words_come_from_the_workers_when_they_give_them(client, entry, observed):
    observed.health = "archived"
    observed.health_evidence = {"words": ["archived on GitHub"]}
    observed.save()
    assert "archived on GitHub" in client.get(entry.get_absolute_url()).content.decode()


def test_project_page_lists_related_and_alternatives(client, make_entries, tree):
    pyro = Project.objects.create(
        name="Pyro",
        slug="pyro",
        homepage_url="https://p.example.org/",
        category=tree["probabilistic"],
    )
    numpyro = Project.objects.create(
        name="NumPyro",
        slug="numpyro",
        homepage_url="https://n.example.org/",
        category=tree["general"],
    )
    pyro.alternatives.add(numpyro)
    make_entries(8)
    body = client.get(pyro.get_absolute_url()).content.decode()
    alternatives = body[body.index('id="h-alternatives"') : body.index('id="h-related"')]
    assert "NumPyro" in alternatives
    related = body[body.index('id="h-related"') : body.index('id="h-report"')]
    assert re.findall(r'data-slug="([^"]+)"', related) == ["entry-0003", "entry-0007"]
    assert "Pyro" in client.get(numpyro.get_absolute_url()).content.decode()


def test_related_lists_the_entries_filed_there_before_its_second_path_listings(
    client, make_entries, tree
):
    """An entry listed in the category through second_path comes after the entries filed
    there, whatever its position, and only while there is room (12 tiles)."""

    pyro = Project.objects.create(
        name="Pyro",
        slug="pyro",
        homepage_url="https://p.example.org/",
        category=tree["probabilistic"],
    )
    make_entries(8)  # entry-0003 and entry-0007 are filed in Probabilistic
    listed = Project.objects.get(slug="entry-0002")  # filed in General, at position 2
    SecondaryCategory.objects.create(project=listed, category=tree["probabilistic"])

    def related() -> tuple[list[str], list[str]]:
        body = client.get(pyro.get_absolute_url()).content.decode()
        tiles = body[body.index('id="h-related"') : body.index('id="h-report"')]
        orm = [p.slug for p in selectors.entry_page_from_orm("pyro").related]
        return re.findall(r'data-slug="([^"]+)"', tiles), orm

    assert related() == (["entry-0003", "entry-0007", "entry-0002"],) * 2
    make_entries(40, prefix="More")  # ten more filed in Probabilistic: twelve in all
    filed = list(
        Project.objects.filter(category=tree["probabilistic"])
        .exclude(pk=pyro.pk)
        .order_by("position", "pk")
        .values_list("slug", flat=True)
    )
    assert len(filed) == 12
    assert related() == (filed,) * 2


def test_unknown_or_unpublished_entries_are_404(client, entry):
    assert client.get("/projects/nope/").status_code == 404
    Project.objects.filter(pk=entry.pk).update(publication="draft")
    assert client.get(entry.get_absolute_url()).status_code == 404


def test_edit_link_only_for_maintainers_and_staff(client, entry, tree):
    users = get_user_model().objects
    maintainer = users.create_user("maint", password="pw-12345-long")
    stranger = users.create_user("stranger", password="pw-12345-long")
    staff = users.create_user("staff", password="pw-12345-long", is_staff=True)
    Maintainer.objects.create(user=maintainer, project=entry)
    edit = reverse("admin:projects_project_change", args=[entry.pk])
    assert edit not in client.get(entry.get_absolute_url()).content.decode()
    for user, shown in [(stranger, False), (maintainer, True), (staff, True)]:
        c = Client()
        c.force_login(user)
        body = c.get(entry.get_absolute_url()).content.decode()
        assert (f'href="{edit}"' in body) is shown, user
        assert "Edit this listing" in body if shown else "Edit this listing" not in body


# --- Report a problem ----------------------------------------------------------------------


def report(client, entry, **data):
    payload = {"reason": "archived", "message": "The repo says archived.", "email": ""}
    payload.update(data)
    return client.post(reverse("projects:report", args=[entry.slug]), payload)


def test_the_report_form_has_a_page_and_the_entry_page_sets_no_cookie(client, entry):
    """An entry's page is the same for every anonymous visitor: no CSRF token, no cookie;
    it links to the report form's own page, which has them."""
    url = reverse("projects:report", args=[entry.slug])
    page = client.get(entry.get_absolute_url())
    body = page.content.decode()
    assert page.status_code == 200
    assert not page.cookies
    assert "csrfmiddlewaretoken" not in body
    assert f'href="{url}"' in body
    form = client.get(url)
    assert form.status_code == 200
    assert "csrftoken" in form.cookies
    text = form.content.decode()
    assert re.search(r'name="csrfmiddlewaretoken" value="[^"]+"', text)
    assert 'name="reason"' in text and 'name="message"' in text
    assert f'action="{url}"' in text
    entry.publication = "draft"
    entry.save()
    assert client.get(url).status_code == 404
    assert client.put(url).status_code == 405


def test_a_report_opens_a_user_report_finding(client, entry):
    response = report(client, entry)
    assert response.status_code == 302
    finding = Finding.objects.get(project=entry)
    assert finding.kind == "user_report"
    assert finding.state == "open"
    assert finding.evidence["message"] == "The repo says archived."
    report(client, entry, message="Another one")
    subjects = set(Finding.objects.values_list("subject", flat=True))
    assert len(subjects) == 2
    assert "your report was sent" in client.get(entry.get_absolute_url()).content.decode()


def test_report_needs_csrf(entry):
    strict = Client(enforce_csrf_checks=True)
    response = report(strict, entry)
    assert response.status_code == 403
    assert not Finding.objects.exists()
    page = strict.get(reverse("projects:report", args=[entry.slug]))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert report(strict, entry, csrfmiddlewaretoken=token.group(1)).status_code == 302
    assert Finding.objects.count() == 1


def test_honeypot_stores_nothing_but_looks_the_same(client, entry):
    response = report(client, entry, website="http://spam.example")
    assert response.status_code == 302
    assert not Finding.objects.exists()


def test_invalid_report_is_shown_again_with_errors(client, entry):
    response = report(client, entry, message="", reason="nonsense")
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert not Finding.objects.exists()


def test_reports_are_rate_limited_per_address(client, entry):
    for _ in range(5):
        assert report(client, entry).status_code == 302
    assert report(client, entry).status_code == 429
    assert Finding.objects.count() == 5
    other = Client(REMOTE_ADDR="10.9.8.7")
    assert report(other, entry).status_code == 302


# --- Stats, badge, embed, feed --------------------------------------------------------------


def test_stats_page_draws_inline_svg_charts(client, make_entries):
    make_entries(10)
    body = client.get("/stats/").content.decode()
    assert body.count('<svg class="bar-chart"') >= 6
    for title in [
        "Entries per top-level category",
        "Health (observed)",
        "Maturity (listed)",
        "Repositories by age of last activity",
        "Top licenses",
        "Entries added per year",
    ]:
        assert title in body
    assert '<th scope="row">MIT</th><td>5</td>' in body
    assert '<th scope="row">Computer Vision</th><td>3</td>' in body
    # Repositories pushed 0..9 days ago are all under one month.
    assert '<th scope="row">under 1 month</th><td>10</td>' in body


def test_badge(client, tree):
    core = Project.objects.create(
        name="Core",
        slug="core",
        homepage_url="https://c.example.org/",
        category=tree["foundation"],
        maturity="foundation",
    )
    other = Project.objects.create(
        name="Other", slug="other", homepage_url="https://o.example.org/", category=tree["vision"]
    )
    response = client.get(f"/badge/{core.slug}.svg")
    assert response["Content-Type"].startswith("image/svg+xml")
    assert "max-age=3600" in response["Cache-Control"]
    assert "public" in response["Cache-Control"]
    body = response.content.decode()
    assert "PyTorch Ecosystem" in body
    assert "foundation-hosted" in body
    assert ">ecosystem<" in client.get(f"/badge/{other.slug}.svg").content.decode()
    assert client.get("/badge/missing.svg").status_code == 404


def test_embed_may_be_framed_and_other_pages_may_not(client, make_entries):
    make_entries(4)
    embed = client.get("/embed/modeling-computer-vision/")
    assert embed.status_code == 200
    assert "X-Frame-Options" not in embed
    assert re.findall(r'<li class="tile', embed.content.decode()) == ['<li class="tile']
    assert client.get("/").get("X-Frame-Options") in {"DENY", "SAMEORIGIN"}
    assert client.get("/embed/nope/").status_code == 404


def test_atom_feed_lists_new_and_changed_entries(client, entry, tree):
    newer = Project.objects.create(
        name="Newer", slug="newer", homepage_url="https://n.example.org/", category=tree["vision"]
    )
    Project.objects.filter(pk=entry.pk).update(updated=timezone.now() + timedelta(hours=1))
    response = client.get("/feed.atom")
    assert response["Content-Type"].startswith("application/atom+xml")
    body = response.content.decode()
    assert body.index("Changed: TorchThing") < body.index(f"New: {newer.name}")
    assert entry.get_absolute_url() in body
