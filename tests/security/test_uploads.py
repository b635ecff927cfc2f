"""Logo uploads through the admin (the one upload path; the API takes no files): oversized
files, SVG with script, event handlers, external references or entities, and data that is
not an image are refused, and nothing is stored."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from projects.models import Project
from tests.admin_forms import maintainer_change_form

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)
SVG = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 10 10">{}</svg>'  # noqa: E501

REFUSED = {
    "script": ("logo.svg", SVG.format("<script>alert(1)</script>").encode()),
    "script-cdata": (
        "logo.svg",
        SVG.format("<script><![CDATA[fetch('//evil.example')]]></script>").encode(),
    ),
    "onload": (
        "logo.svg",
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="1"/></svg>',
    ),
    "onclick-nested": ("logo.svg", SVG.format('<g><rect onclick="alert(1)"/></g>').encode()),
    "external-image": (
        "logo.svg",
        SVG.format('<image href="https://evil.example/x.png"/>').encode(),
    ),
    "external-use": (
        "logo.svg",
        SVG.format('<use xlink:href="https://evil.example/sprite.svg#a"/>').encode(),
    ),
    "javascript-href": (
        "logo.svg",
        SVG.format('<a href="javascript:alert(1)"><rect/></a>').encode(),
    ),
    "css-url": (
        "logo.svg",
        SVG.format('<rect style="fill:url(https://evil.example/p)"/>').encode(),
    ),
    "css-import": (
        "logo.svg",
        SVG.format("<style>@import 'https://evil.example/a.css';</style>").encode(),
    ),
    "foreign-object": (
        "logo.svg",
        SVG.format("<foreignObject><iframe src='https://evil.example'/></foreignObject>").encode(),
    ),
    "xxe": (
        "logo.svg",
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>',
    ),
    "billion-laughs": (
        "logo.svg",
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg"><text>&b;</text></svg>',
    ),
    "html-named-png": ("logo.png", b"<html><script>alert(1)</script></html>"),
    "pdf": ("logo.png", b"%PDF-1.7\n1 0 obj<<>>endobj\n"),
    "executable": ("logo.gif", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64),
    "not-svg-root": ("logo.svg", b'<?xml version="1.0"?><html><body>hi</body></html>'),
    "truncated-svg": ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><rect'),
    # Issue 19: what the deny-list let through, inert only behind /media/'s CSP.
    "png-named-svg": ("logo.svg", PNG),
    "gif-named-svg": ("logo.svg", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
    "set-href": (
        "logo.svg",
        SVG.format('<g><set attributeName="href" to="javascript:alert(1)"/></g>').encode(),
    ),
    "animate-onclick": (
        "logo.svg",
        SVG.format('<rect><animate attributeName="onclick" values="alert(1)"/></rect>').encode(),
    ),
    "xml-stylesheet": (
        "logo.svg",
        b'<?xml-stylesheet href="https://evil.example/a.css"?>'
        + SVG.format('<rect width="1"/>').encode(),
    ),
    "css-escaped-import": (
        "logo.svg",
        SVG.format("<style>@\\69mport 'https://evil.example/a.css';</style>").encode(),
    ),
    "css-escaped-url": (
        "logo.svg",
        SVG.format('<rect style="fill:\\75rl(https://evil.example/p)"/>').encode(),
    ),
    "image-set": (
        "logo.svg",
        SVG.format("<rect style=\"fill:image-set('https://evil.example/a.png' 1x)\"/>").encode(),
    ),
    "fill-url": ("logo.svg", SVG.format('<rect fill="url(https://evil.example/p#g)"/>').encode()),
    "filter-url": (
        "logo.svg",
        SVG.format('<rect filter="url(https://evil.example/f#f)"/>').encode(),
    ),
    "mask-url": ("logo.svg", SVG.format('<rect mask="url(https://evil.example/m#m)"/>').encode()),
}


def edit_form(project: Project, logo) -> dict:
    return maintainer_change_form(project, logo=logo)


def stored_logos(settings) -> list[Path]:
    folder = Path(settings.MEDIA_ROOT) / "logos"
    return sorted(folder.iterdir()) if folder.is_dir() else []


@pytest.mark.parametrize("case", list(REFUSED))
def test_an_unsafe_or_non_image_logo_is_refused(client, world, settings, case):
    alpha = world["alpha"]
    client.force_login(world["actors"]["owner"].user)
    name, data = REFUSED[case]
    response = client.post(
        f"/admin/projects/project/{alpha.pk}/change/",
        edit_form(alpha, SimpleUploadedFile(name, data)),
    )
    assert response.status_code == 200  # the form again, with the error
    assert "This logo is refused" in response.content.decode()
    alpha.refresh_from_db()
    assert not alpha.logo
    assert stored_logos(settings) == []


def test_an_oversized_logo_is_refused(client, world, settings):
    settings.LOGO_MAX_BYTES = 1024
    alpha = world["alpha"]
    client.force_login(world["actors"]["owner"].user)
    big = PNG + b"\x00" * 2048  # a real PNG header, padded past the limit
    response = client.post(
        f"/admin/projects/project/{alpha.pk}/change/",
        edit_form(alpha, SimpleUploadedFile("logo.png", big)),
    )
    assert response.status_code == 200
    assert f"the limit is {settings.LOGO_MAX_BYTES}" in response.content.decode()
    alpha.refresh_from_db()
    assert not alpha.logo and stored_logos(settings) == []


@pytest.mark.parametrize(
    ("name", "data"),
    [("logo.png", PNG), ("logo.svg", SVG.format('<rect width="5" fill="#e44"/>').encode())],
)
def test_a_clean_logo_is_accepted(client, world, settings, name, data):
    """The control: the refusals above are about the content, not uploads as such."""
    alpha = world["alpha"]
    client.force_login(world["actors"]["owner"].user)
    response = client.post(
        f"/admin/projects/project/{alpha.pk}/change/",
        edit_form(alpha, SimpleUploadedFile(name, data)),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    alpha.refresh_from_db()
    assert alpha.logo and len(stored_logos(settings)) == 1
