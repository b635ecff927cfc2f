"""Logos are served by the app, with headers that keep an SVG inert."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" height="1"/></svg>'


@pytest.fixture
def logo():
    return default_storage.save("logos/tiny.svg", ContentFile(SVG))


@pytest.mark.parametrize("debug", [True, False])
def test_a_logo_is_served_with_sandboxing_headers(client, logo, settings, debug):
    settings.DEBUG = debug
    response = client.get(f"/media/{logo}")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == SVG
    assert response["Content-Type"] == "image/svg+xml"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


@pytest.mark.parametrize(
    "path",
    [
        "/media/logos/missing.svg",
        "/media/logos/../../settings.py",
        "/media/other/file.svg",
        "/media/logos/.hidden.svg",
        "/media/logos/notes.txt",
    ],
)
def test_only_existing_logo_files_are_served(client, logo, path):
    assert client.get(path).status_code == 404
