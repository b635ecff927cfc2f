import pytest

from projects.logos import LogoError, logo_kind

SVG_NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'


def svg(body: str, attrs: str = "") -> bytes:
    return f"<svg {SVG_NS} {attrs}>{body}</svg>".encode()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (svg("<script>alert(1)</script>"), "<script>"),
        (svg("", 'onload="alert(1)"'), "onload"),
        (svg('<rect onclick="x()"/>'), "onclick"),
        (svg('<image xlink:href="https://example.test/a.png"/>'), "external"),
        (svg('<use href="//example.test/sprite.svg#a"/>'), "external"),
        (svg('<a href="javascript:alert(1)"><text>x</text></a>'), "<a> is not an allowed element"),
        (svg('<image href="data:text/html;base64,PHNjcmlwdD4="/>'), "external"),
        (
            svg('<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject>'),
            "foreignobject",
        ),
        (svg("<style>@import url(https://example.test/x.css);</style>"), "import"),
        (svg('<rect style="fill:url(https://example.test/p.svg#g)"/>'), "style"),
        (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "y">]><svg>&x;</svg>', "Entities"),
        (
            b'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg>&x;</svg>',
            "Entities",
        ),
        (b"<svg><unclosed></svg>", "well-formed"),
        (b"<html><body>hi</body></html>", "not an image"),
        (b"MZ\x90\x00 not an image", "not an image"),
        # Issue 19: each of these passed the old deny-list; the rule named must be the one
        # broken, so the message is read by whoever uploaded the file.
        (
            svg('<a><set attributeName="href" to="javascript:alert(1)"/><text>x</text></a>'),
            "not an allowed element",
        ),
        (svg('<g><set attributeName="href" to="javascript:alert(1)"/></g>'), "animates 'href'"),
        (svg('<rect><set attributeName="xlink:href" to="javascript:x"/></rect>'), "animates"),
        (svg('<rect><set attributeName="onclick" to="alert(1)"/></rect>'), "animates 'onclick'"),
        (svg('<rect><animate attributeName="onmouseover" values="alert(1)"/></rect>'), "animates"),
        (
            b'<?xml version="1.0"?><?xml-stylesheet href="https://evil.example/x.css"?>'
            + svg('<rect width="1"/>'),
            "processing instruction <?xml-stylesheet?>",
        ),
        (svg("<style>@\\69mport url(https://evil.example/x.css);</style>"), "at-rule @import"),
        (svg('<rect style="fill:\\75rl(https://evil.example/p#g)"/>'), "only #fragment"),
        (svg("<style>rect{fill:\\75 rl(//evil.example/p#g)}</style>"), "only #fragment"),
        (
            svg('<rect style="fill:image-set(url(https://evil.example/a.png) 1x)"/>'),
            "css function image-set()",
        ),
        (svg('<rect fill="url(https://evil.example/p.svg#g)"/>'), "only #fragment"),
        (svg('<rect filter="url(https://evil.example/f.svg#f)"/>'), "only #fragment"),
        (svg('<rect mask="url(//evil.example/m.svg#m)"/>'), "only #fragment"),
        (
            svg('<rect><set attributeName="fill" to="url(https://evil.example/p#g)"/></rect>'),
            "only #fragment",
        ),
        (svg('<use href="sprite.svg#a"/>'), "only #fragment"),
        (svg('<rect xml:base="https://evil.example/"/>'), "not allowed"),
        (
            svg('<image href="data:image/png;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+"/>'),
            "declared image/png that is not",
        ),
        (
            svg('<html:script xmlns:html="http://www.w3.org/1999/xhtml">alert(1)</html:script>'),
            "not an allowed element",
        ),
        (svg("<cursor/>"), "not an allowed element"),
        (svg("<style>@imp<desc/>ort url(https://evil.example/x.css);</style>"), "@import"),
    ],
)
def test_unsafe_or_non_image_logos_are_refused(data, reason):
    with pytest.raises(LogoError) as excinfo:
        logo_kind(data)
    assert reason.lower() in str(excinfo.value).lower()


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (svg('<rect width="4" height="4" fill="url(#g)"/><linearGradient id="g"/>'), "svg"),
        (svg('<image href="data:image/png;base64,iVBORw0KGgo="/>'), "svg"),
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
            b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">' + svg(""),
            "svg",
        ),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 16, "png"),
        (b"\xff\xd8\xff\xe0" + b"\0" * 16, "jpeg"),
    ],
)
def test_safe_logos_are_recognised(data, kind):
    assert logo_kind(data) == kind


PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\0" * 16


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("logo.svg", PNG_BYTES, "PNG"),
        ("logo.svg", b"GIF89a" + b"\0" * 16, "GIF"),
        ("logo.png", b"\xff\xd8\xff\xe0" + b"\0" * 16, "JPEG"),
        ("logo.gif", svg('<rect width="1"/>'), "SVG"),
        ("logo.html", PNG_BYTES, "PNG"),
        ("logo", b"RIFF\0\0\0\0WEBPVP8 ", "WEBP"),
    ],
)
def test_a_logo_must_be_named_for_what_it_holds(name, data, kind):
    """A PNG named .svg is served as an SVG document: the name must match the bytes."""
    with pytest.raises(LogoError) as excinfo:
        logo_kind(data, name=name)
    assert f"holds {kind} data" in str(excinfo.value)


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("a.png", PNG_BYTES, "png"),
        ("a.JPG", b"\xff\xd8\xff\xe0" + b"\0" * 16, "jpeg"),
        ("a.jpeg", b"\xff\xd8\xff\xe0" + b"\0" * 16, "jpeg"),
        ("a.gif", b"GIF89a" + b"\0" * 16, "gif"),
        ("a.webp", b"RIFF\0\0\0\0WEBPVP8 ", "webp"),
        ("a.svg", svg('<rect width="1"/>'), "svg"),
    ],
)
def test_a_logo_named_for_what_it_holds_is_accepted(name, data, kind):
    assert logo_kind(data, name=name) == kind


def test_every_real_pytorch_logo_file_is_accepted(shared_data):
    """All 244 image files of the real landscape pass the allow-list, by name and content
    (the folder's one other file, "test", is a single byte and no image)."""
    files = [p for p in sorted((shared_data / "logos").iterdir()) if p.name != "test"]
    refused = {}
    for path in files:
        try:
            logo_kind(path.read_bytes(), name=path.name)
        except LogoError as exc:
            refused[path.name] = str(exc)
    assert refused == {}
    assert len(files) == 244


def test_every_shared_logo_that_an_item_names_is_accepted(shared_data):
    import yaml

    doc = yaml.safe_load((shared_data / "landscape.yml").read_text())
    names = {
        item["logo"]
        for cat in doc["landscape"]
        for sub in cat["subcategories"]
        for item in sub["items"]
    }
    kinds = {name: logo_kind((shared_data / "logos" / name).read_bytes()) for name in names}
    assert set(kinds.values()) <= {"svg", "png", "jpeg"}
    assert len(kinds) == len(names)
