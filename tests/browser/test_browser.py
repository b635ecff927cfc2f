"""The public pages in a real browser: search as you type, filters, the archived toggle,
opening a project page and keyboard use; screenshots go to artifacts/."""

from __future__ import annotations

import re

import pytest

from projects.models import Maturity, Project

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

expect = pytest.importorskip("playwright.sync_api").expect


def result_tiles(page):
    return page.locator("#results li.tile")


def test_search_as_you_type(page, landscape_data, artifacts):
    page.goto("/")
    page.locator("#id_q").press_sequentially("pytorh lightnin")
    expect(page).to_have_url(re.compile(r"/\?q=pytorh(\+|%20)lightnin$"))
    expect(result_tiles(page).first).to_have_attribute("data-slug", "pytorch-lightning")
    expect(page.locator("#results mark").first).to_be_visible()
    # The box keeps the focus through the swap, so typing can go on.
    expect(page.locator("#id_q")).to_be_focused()
    # Detectron2 is listed archived: found, but behind the toggle, which says so.
    page.locator("#id_q").fill("detectron")
    expect(page.locator("#result-count")).to_contain_text("match “detectron”. 1 archived hidden")
    expect(result_tiles(page)).to_have_count(0)
    page.get_by_label("Show archived (1)").check()
    expect(result_tiles(page).first).to_have_attribute("data-slug", "detectron2")


def test_filters_update_results_facets_and_url(page, landscape_data):
    page.goto("/")
    all_count = result_tiles(page).count()
    page.select_option("#id_category", "training")
    expect(page).to_have_url(re.compile(r"category=training"))
    page.locator("#id_health_active").check()
    expect(page).to_have_url(re.compile(r"health=active"))
    expect(page.locator("#results li.tile:not([data-health='active'])")).to_have_count(0)
    training_active = Project.objects.filter(
        category__parent__slug="training", health="active"
    ).exclude(maturity=Maturity.ARCHIVED)
    expect(result_tiles(page)).to_have_count(training_active.count())
    assert 0 < training_active.count() < all_count
    # The URL is shareable: loading it again gives the same list without JavaScript help.
    shared = page.url
    page.goto(shared)
    expect(result_tiles(page)).to_have_count(training_active.count())
    expect(page.locator("#id_health_active")).to_be_checked()


def test_the_archived_toggle(page, landscape_data):
    archived = Project.objects.filter(maturity=Maturity.ARCHIVED).count()
    assert archived
    page.goto("/")
    visible = result_tiles(page).count()
    expect(page.locator("#results li.tile.is-archived")).to_have_count(0)
    toggle = page.get_by_label(f"Show archived ({archived})")
    toggle.check()
    expect(page).to_have_url(re.compile(r"show_archived=1"))
    expect(result_tiles(page)).to_have_count(visible + archived)
    expect(page.locator("#results li.tile.is-archived")).to_have_count(archived)
    toggle.uncheck()
    expect(result_tiles(page)).to_have_count(visible)


def test_switching_to_the_list_view(page, landscape_data):
    page.goto("/?q=medical+imaging")
    expect(page.locator("#results .tile-desc")).to_have_count(0)
    page.get_by_label("List", exact=True).check()
    expect(page.locator("#results ul.tiles-list").first).to_be_visible()
    expect(page.locator("#results .tile-desc").first).to_be_visible()


def test_opening_a_project_page(page, landscape_data, artifacts):
    page.goto("/")
    page.screenshot(path=str(artifacts / "landscape.png"), full_page=False)
    page.locator("#results li.tile[data-slug='pytorch-lightning'] a").click()
    expect(page).to_have_url(re.compile(r"/projects/pytorch-lightning/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("PyTorch Lightning")
    expect(page.locator("svg.sparkline")).to_be_visible()
    expect(page.get_by_role("heading", name="Report a problem")).to_be_visible()
    page.screenshot(path=str(artifacts / "project.png"), full_page=True)


def test_reporting_a_problem_from_a_project_page(page, landscape_data):
    from projects.models import Finding

    page.goto("/projects/pytorch-lightning/")
    page.get_by_role("link", name="Write a report").click()
    expect(page).to_have_url(re.compile(r"/projects/pytorch-lightning/report/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("PyTorch Lightning")
    page.get_by_label("What is wrong?").select_option("moved")
    page.get_by_label("Details").fill("The documentation moved to a new address.")
    page.get_by_role("button", name="Send report").click()
    expect(page).to_have_url(re.compile(r"/projects/pytorch-lightning/#report$"))
    expect(page.get_by_role("status")).to_contain_text("your report was sent")
    finding = Finding.objects.get(project__slug="pytorch-lightning", kind="user_report")
    assert finding.evidence["reason"] == "moved"


def test_stats_page(page, landscape_data, artifacts):
    page.goto("/stats/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Statistics")
    assert page.locator("svg.bar-chart").count() >= 6
    page.screenshot(path=str(artifacts / "stats.png"), full_page=True)


def test_keyboard_navigation(page, landscape_data):
    page.goto("/")
    # The first Tab reaches the skip link, which moves focus to the content.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))
    # "/" jumps to the search box from anywhere.
    page.keyboard.press("/")
    expect(page.locator("#id_q")).to_be_focused()
    page.keyboard.type("monai")
    expect(result_tiles(page).first).to_have_attribute("data-slug", "monai")
    # Tab on through the controls until the first result's link has the focus, then open it.
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('tile-link')"):
            break
    else:
        pytest.fail("the result could not be reached with the keyboard")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/projects/monai/$"))


def test_small_screens_do_not_scroll_sideways(browser, live_server, landscape_data, artifacts):
    context = browser.new_context(viewport={"width": 360, "height": 740}, base_url=live_server.url)
    context.route(lambda url: not url.startswith(live_server.url), lambda r: r.abort())
    page = context.new_page()
    try:
        for url in ["/", "/projects/pytorch-lightning/", "/stats/"]:
            page.goto(url)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, (url, width)
        page.goto("/")
        # The filters start folded so that the results come first; the summary opens them.
        disclosure = page.locator("#filters-disclosure")
        expect(page.locator("#id_category")).to_be_hidden()
        expect(result_tiles(page).first).to_be_in_viewport()
        page.screenshot(path=str(artifacts / "landscape-360.png"))
        disclosure.locator("summary").focus()
        page.keyboard.press("Enter")
        expect(page.locator("#id_category")).to_be_visible()
    finally:
        context.close()
