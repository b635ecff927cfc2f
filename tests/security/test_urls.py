"""URLs: only http and https, with a host and without credentials, wherever a URL comes in."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError

from projects.landscape_yml import LandscapeFormatError, parse_landscape
from projects.models import Project
from projects.validators import validate_public_url

GOOD = [
    "https://pytorch.org/",
    "http://example.com",
    "https://docs.example.org/en/latest/?q=a+b#x",
    "https://example.com:8443/path",
    "HTTPS://Example.COM/",
]
BAD = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "ftp://example.com/",
    "//example.com/no-scheme",
    "https://user:secret@example.com/",
    "https://token@example.com/",
    "https://:secret@example.com/",
    "https:///no-host",
    "https://example.com\\@evil.example/",
    " https://example.com/",
    "https://exa mple.com/",
    "https://example.com/\nSet-Cookie:x",
    "https://example.com:99999/",
    "mailto:someone@example.com",
]
URL_FIELDS = ("homepage_url", "repo_url", "documentation_url", "twitter_url", "crunchbase_url")


@pytest.mark.parametrize("url", GOOD)
def test_the_validator_accepts_public_web_addresses(url):
    validate_public_url(url)


@pytest.mark.parametrize("url", BAD)
def test_the_validator_refuses_other_schemes_credentials_and_tricks(url):
    with pytest.raises(ValidationError):
        validate_public_url(url)


# The importer applies the model fields' validator (a YAML value's surrounding blanks are
# trimmed first, so those cases are the validator's alone).
@pytest.mark.parametrize("url", [u for u in BAD if u.strip() == u and "\n" not in u])
def test_the_importer_refuses_them_too(url):
    text = (
        "landscape:\n  - category:\n    name: C\n    subcategories:\n      - subcategory:\n"
        f"        name: S\n        items:\n          - item:\n            name: X\n"
        f"            homepage_url: {json.dumps(url)}\n"
    )
    with pytest.raises(LandscapeFormatError, match="homepage_url"):
        parse_landscape(text)


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://example.com/"])
def test_the_api_refuses_other_schemes(client, world, url):
    response = client.patch(
        "/api/v1/projects/alpha/",
        json.dumps({"homepage_url": url}),
        content_type="application/json",
        **world["actors"]["owner"].auth,
    )
    assert response.status_code == 400
    assert Project.objects.get(slug="alpha").homepage_url == "https://alpha.example/"


@pytest.mark.parametrize("field", URL_FIELDS)
def test_every_url_field_of_an_entry_uses_the_validator(field):
    assert validate_public_url in Project._meta.get_field(field).validators


@pytest.mark.django_db
def test_the_api_refuses_credentials_in_a_url(client, world):
    response = client.patch(
        "/api/v1/projects/alpha/",
        json.dumps({"homepage_url": "https://user:secret@alpha.example/"}),
        content_type="application/json",
        **world["actors"]["owner"].auth,
    )
    assert response.status_code == 400
