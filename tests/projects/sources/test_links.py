"""Link checks against the fake website."""

from __future__ import annotations

import pytest

from projects.sources.links import MAX_BODY_BYTES, LinkChecker, check_link, network_canary
from tests.fakes.servers import FakeLinks, unused_port_url


def test_ok_page_uses_head_only(fake_links):
    url = fake_links.page("/docs/")
    result = check_link(url)
    assert result.ok
    assert result.status_code == 200
    assert result.final_url == url
    assert result.permanent_redirect_to is None
    assert [r.method for r in fake_links.requests] == ["HEAD"]


@pytest.mark.parametrize("head_status", [405, 403, 501])
def test_get_when_head_is_refused(fake_links, head_status):
    url = fake_links.route("/nohead", head_status=head_status)
    result = check_link(url)
    assert result.ok
    assert [r.method for r in fake_links.requests] == ["HEAD", "GET"]


@pytest.mark.parametrize(
    ("status", "transient"), [(404, False), (410, False), (500, True), (503, True), (429, True)]
)
def test_error_statuses(fake_links, status, transient):
    url = fake_links.route("/bad", status=status)
    result = check_link(url)
    assert not result.ok
    assert result.status_code == status
    assert result.transient is transient
    assert result.error == f"HTTP {status}"


def test_permanent_redirect_from_first_hop_is_reported(fake_links):
    target = fake_links.page("/new/")
    url = fake_links.redirect("/old", target, status=301)
    result = check_link(url)
    assert result.ok
    assert result.final_url == target
    assert result.permanent_redirect_to == target
    assert result.redirects == (target,)


def test_chain_of_permanent_hops_suggests_the_last_permanent_target(fake_links):
    final = fake_links.page("/c")
    middle = fake_links.redirect("/b", final, status=308)
    url = fake_links.redirect("/a", middle, status=301)
    assert check_link(url).permanent_redirect_to == final


def test_temporary_redirect_is_not_permanent(fake_links):
    target = fake_links.page("/latest/")
    url = fake_links.redirect("/", target, status=302)
    result = check_link(url)
    assert result.ok
    assert result.permanent_redirect_to is None


def test_permanent_after_temporary_is_not_suggested(fake_links):
    final = fake_links.page("/en/stable/")
    middle = fake_links.redirect("/en/", final, status=301)
    url = fake_links.redirect("/", middle, status=302)
    assert check_link(url).permanent_redirect_to is None


def test_relative_location_is_resolved(fake_links):
    fake_links.page("/here")
    url = fake_links.redirect("/there", "/here", status=301)
    result = check_link(url)
    assert result.ok
    assert result.final_url == f"{fake_links.url}/here"


def test_at_most_five_redirects(fake_links):
    fake_links.page("/6")
    for i in range(6):
        fake_links.redirect(f"/{i}", f"/{i + 1}", status=302)
    assert check_link(f"{fake_links.url}/1").ok  # 1 -> ... -> 6 is five hops
    result = check_link(f"{fake_links.url}/0")  # six hops
    assert not result.ok
    assert "redirects" in (result.error or "")


def test_redirect_loop_stops(fake_links):
    fake_links.redirect("/ping", "/pong", status=302)
    fake_links.redirect("/pong", "/ping", status=302)
    result = check_link(f"{fake_links.url}/ping")
    assert not result.ok
    assert fake_links.request_count == 6


@pytest.mark.parametrize(
    "location",
    [
        "ftp://example.org/file",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "http://user:pw@127.0.0.1/",
    ],
)
def test_each_hop_is_revalidated(fake_links, location):
    url = fake_links.redirect("/go", location, status=302)
    result = check_link(url)
    assert not result.ok
    assert not result.transient
    assert "redirect" in (result.error or "")
    assert fake_links.request_count == 1


def test_redirect_into_a_private_network_is_refused(fake_links, settings):
    # The first hop is allowlisted; the next one points at the metadata service.
    url = fake_links.redirect("/meta", "http://169.254.169.254/latest/meta-data/", status=302)
    result = check_link(url)
    assert not result.ok
    assert not result.transient
    assert "refusing to connect" in (result.error or "")


@pytest.mark.parametrize(
    "url", ["ftp://example.org/", "https://user:secret@example.org/", "not a url"]
)
def test_invalid_urls_are_refused_without_requests(url):
    result = check_link(url)
    assert not result.ok
    assert not result.transient


def test_timeout_is_transient(fake_links):
    url = fake_links.route("/slow", delay=5)
    result = check_link(url, timeout=0.2)
    assert not result.ok
    assert result.transient
    assert "timed out" in (result.error or "")


def test_body_read_stops_at_64_kib(fake_links):
    url = fake_links.route("/endless", endless=True, head_status=405)
    with LinkChecker(timeout=5) as checker:
        result = checker.check(url)
    assert result.ok
    assert MAX_BODY_BYTES == 64 * 1024


def test_connection_refused_is_transient(allow_loopback):
    result = check_link(unused_port_url("/"))
    assert not result.ok
    assert result.transient


def test_canary_online(fake_links):
    assert network_canary() is True


def test_canary_any_answer_counts(allow_loopback):
    with FakeLinks() as site:
        down = site.route("/", status=503)
        assert network_canary([unused_port_url(), down]) is True


def test_canary_offline(network_down):
    assert network_canary() is False


def test_canary_uses_the_setting_default(settings):
    del settings.LINK_CANARY_URLS
    from projects.sources.links import DEFAULT_CANARY_URLS, canary_urls

    assert canary_urls() == list(DEFAULT_CANARY_URLS)


def test_user_agent_is_sent(fake_links, settings):
    url = fake_links.page("/")
    check_link(url)
    assert fake_links.requests[0].header("user-agent") == settings.OUTBOUND_USER_AGENT
