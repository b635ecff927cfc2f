"""Pytest fixtures for the fake servers.

Load them with ``pytest_plugins = ["tests.fakes.fixtures"]`` in tests/conftest.py.
Every server fixture also lets the SSRF guard reach 127.0.0.0/8 and points the
matching setting at the fake, through pytest-django's ``settings`` fixture so
everything is restored after the test. None of them touches the database.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.servers import FakeGitHub, FakeGitLab, FakeLinks, FakePyPI, unused_port_url

FAKE_GITHUB_TOKEN = "ghp_fake_test_token_0123456789"


@pytest.fixture
def allow_loopback(settings) -> list[str]:
    """Let outbound requests reach 127.0.0.0/8, where the fakes listen."""
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    return settings.OUTBOUND_ALLOWED_NETWORKS


@pytest.fixture
def fake_github(settings, allow_loopback) -> Iterator[FakeGitHub]:
    """GitHub REST + GraphQL. No token is configured: clients use REST."""
    server = FakeGitHub(token=FAKE_GITHUB_TOKEN).start()
    settings.GITHUB_API_URL = server.api_url
    settings.GITHUB_GRAPHQL_URL = server.graphql_url
    settings.GITHUB_TOKEN = ""
    yield server
    server.stop()


@pytest.fixture
def github_token(settings, fake_github) -> str:
    """Configure the token the fake GitHub accepts (switches clients to GraphQL)."""
    settings.GITHUB_TOKEN = FAKE_GITHUB_TOKEN
    return FAKE_GITHUB_TOKEN


@pytest.fixture
def fake_gitlab(settings, allow_loopback) -> Iterator[FakeGitLab]:
    server = FakeGitLab().start()
    settings.GITLAB_API_URL = server.url
    settings.GITLAB_TOKEN = ""
    yield server
    server.stop()


@pytest.fixture
def fake_pypi(settings, allow_loopback) -> Iterator[FakePyPI]:
    server = FakePyPI().start()
    settings.PYPI_URL = server.url
    yield server
    server.stop()


@pytest.fixture
def fake_links(settings, allow_loopback) -> Iterator[FakeLinks]:
    """A website; LINK_CANARY_URLS points at its ``/canary`` page (network up)."""
    server = FakeLinks().start()
    settings.LINK_CANARY_URLS = [server.page("/canary")]
    yield server
    server.stop()


@pytest.fixture
def network_down(settings, allow_loopback) -> list[str]:
    """Canary URLs where nothing answers: the checker must believe it is offline."""
    settings.LINK_CANARY_URLS = [unused_port_url("/a"), unused_port_url("/b")]
    return settings.LINK_CANARY_URLS
