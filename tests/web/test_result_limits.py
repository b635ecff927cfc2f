"""Large result sets stay one readable page: a search shows at most FLAT_RESULTS_LIMIT
tiles and says so, with the full count; the landscape's boxes stop at their limit."""

from __future__ import annotations

import re

from projects.selectors import FLAT_RESULTS_LIMIT, LANDSCAPE_BOX_LIMIT


def test_a_search_matching_more_than_the_limit_shows_the_limit_and_the_count(client, make_entries):
    make_entries(FLAT_RESULTS_LIMIT + 60)
    body = client.get("/", {"q": "entry", "show_archived": "1"}).content.decode()
    assert len(re.findall(r'<li class="tile', body)) == FLAT_RESULTS_LIMIT
    assert f"Showing the first {FLAT_RESULTS_LIMIT} of these entries" in body
    assert f"<strong>{FLAT_RESULTS_LIMIT + 60}</strong> entries" in body


def test_a_search_under_the_limit_shows_everything_without_the_notice(client, make_entries):
    make_entries(30)
    body = client.get("/", {"q": "entry", "show_archived": "1"}).content.decode()
    assert len(re.findall(r'<li class="tile', body)) == 30
    assert "Showing the first" not in body


def test_landscape_boxes_stop_at_their_limit_with_a_link_to_the_rest(client, make_entries):
    make_entries(4 * (LANDSCAPE_BOX_LIMIT + 5))  # spread over four subcategories
    body = client.get("/", {"show_archived": "1"}).content.decode()
    assert len(re.findall(r'<li class="tile', body)) == 4 * LANDSCAPE_BOX_LIMIT
    assert body.count("5 more in ") == 4


def test_past_the_largest_landscapes_boxes_show_fewer_tiles(client, make_entries):
    from projects.selectors import LANDSCAPE_BOX_LIMIT_LARGE, LANDSCAPE_LARGE

    make_entries(LANDSCAPE_LARGE + 4)
    body = client.get("/", {"show_archived": "1"}).content.decode()
    assert len(re.findall(r'<li class="tile', body)) == 4 * LANDSCAPE_BOX_LIMIT_LARGE
    per_box = (LANDSCAPE_LARGE + 4) // 4
    assert body.count(f"{per_box - LANDSCAPE_BOX_LIMIT_LARGE} more in ") == 4
