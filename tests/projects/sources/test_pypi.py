"""PyPI client against the fake PyPI."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from projects.sources.base import TransientError
from projects.sources.pypi import PyPIClient, latest_release, package_name_from_urls
from tests.fakes.servers import Fault


@pytest.mark.parametrize(
    ("urls", "expected"),
    [
        (["https://pypi.org/project/torchvision/"], "torchvision"),
        (["https://pypi.org/project/Torch_Geometric"], "torch-geometric"),
        (["https://pypi.org/project/lightning/2.2.0/"], "lightning"),
        (["https://pypi.org/p/skorch"], "skorch"),
        (["https://pypi.python.org/pypi/foo.bar"], "foo-bar"),
        (["pypi.org/project/captum"], "captum"),
        ([None, "https://github.com/a/b", "https://pypi.org/project/x/"], "x"),
        (["https://github.com/a/b", "https://example.org/pypi.org/project/x"], None),
        (["https://pypi.org/", "https://pypi.org/search/?q=x"], None),
        ([], None),
    ],
)
def test_package_name_from_urls(urls, expected):
    assert package_name_from_urls(urls) == expected


def test_latest_release_ignores_yanked_files(fake_pypi):
    fake_pypi.add_package(
        "torchfoo",
        {
            "0.1": datetime(2023, 1, 5, 12, 0, tzinfo=UTC),
            "0.2": [
                datetime(2024, 3, 1, 8, 30, tzinfo=UTC),
                datetime(2024, 3, 2, 9, 0, tzinfo=UTC),
            ],
            "0.3": datetime(2025, 6, 1, tzinfo=UTC),
        },
        yanked={"0.3"},
    )
    assert latest_release("torchfoo") == datetime(2024, 3, 2, 9, 0, tzinfo=UTC)
    assert fake_pypi.count(path_prefix="/pypi/torchfoo/json") == 1


def test_unknown_package_is_none(fake_pypi):
    assert latest_release("does-not-exist") is None


def test_non_canonical_name_follows_pypi_redirect(fake_pypi):
    fake_pypi.add_package("torch-geometric", {"2.5.0": datetime(2025, 2, 1, tzinfo=UTC)})
    with PyPIClient() as client:
        # Normalised before asking, so no redirect is needed at all.
        assert client.latest_release("Torch_Geometric") == datetime(2025, 2, 1, tzinfo=UTC)
        assert client.requests_made == 1


def test_project_without_files_has_no_release(fake_pypi):
    fake_pypi.add_package("empty", {})
    assert latest_release("empty") is None


@pytest.mark.parametrize("fault", [Fault.server_error(503), Fault.malformed(), Fault.drop()])
def test_failures_are_transient(fake_pypi, fault):
    fake_pypi.add_package("x", {"1.0": datetime(2025, 1, 1, tzinfo=UTC)})
    fake_pypi.inject(fault)
    with pytest.raises(TransientError):
        latest_release("x")


def test_timeout_is_transient(fake_pypi):
    fake_pypi.add_package("x", {"1.0": datetime(2025, 1, 1, tzinfo=UTC)})
    fake_pypi.inject(Fault.slow(5))
    with PyPIClient(timeout=0.2) as client, pytest.raises(TransientError):
        client.latest_release("x")
